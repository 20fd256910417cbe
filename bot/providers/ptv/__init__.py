"""Import from PTV, the Finnish service catalogue (Suomi.fi Palvelutietovaranto), API v11.

``read_ptv_input`` reads the documents, ``load_mapping`` the file that says
which channels are digital support, and ``convert_ptv`` turns the channels
into providers with every problem reported.
"""

from bot.providers.ptv.channel import SOURCE, PtvIssue
from bot.providers.ptv.convert import PtvResult, Unmapped, convert_ptv
from bot.providers.ptv.documents import PtvDocuments, is_ptv_input, read_ptv_input
from bot.providers.ptv.mapping import MappingError, PtvMapping, load_mapping

__all__ = [
    "SOURCE",
    "MappingError",
    "PtvDocuments",
    "PtvIssue",
    "PtvMapping",
    "PtvResult",
    "Unmapped",
    "convert_ptv",
    "is_ptv_input",
    "load_mapping",
    "read_ptv_input",
]
