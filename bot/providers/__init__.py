"""Providers of digital support: the record, import, storage and search."""

from bot.providers.model import Provider, ServiceArea
from bot.providers.search import (
    InvalidQueryError,
    SearchQuery,
    SearchResponse,
    SearchResult,
    search,
)

__all__ = [
    "InvalidQueryError",
    "Provider",
    "SearchQuery",
    "SearchResponse",
    "SearchResult",
    "ServiceArea",
    "search",
]
