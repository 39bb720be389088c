"""WebSocket URL routes; apps append theirs here through erp.routing.register()."""

websocket_urlpatterns: list = []
