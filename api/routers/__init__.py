"""One router per noun; :data:`api.app.ROUTERS` lists them."""
