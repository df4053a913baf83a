"""The reference Microsoft.Omnichannel.getConversations for Python (client side: talks HTTP to any org URL)."""
from .client import Omnichannel
from .errors import OmnichannelError
from .request import ConversationQuery, build

__all__ = ["Omnichannel", "OmnichannelError", "ConversationQuery", "build"]
