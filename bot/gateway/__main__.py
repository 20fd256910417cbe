"""``python -m bot.gateway``: the production entry point in front of the replicas."""

from bot.gateway.cli import main

if __name__ == "__main__":
    main()
