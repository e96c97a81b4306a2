"""WMS / 3PL simulator implementing the generic contract (docs/connectors/wms.md).

``retailconnect sim wms --port P [--set webhook_url=http://... --set ship_delay_s=1]``."""

from .app import WmsSimulator as WmsSimulator
from .app import create_app as create_app

__all__ = ["WmsSimulator", "create_app"]
