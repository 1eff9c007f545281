"""The charger's own web page: static files served by ncpa.api.routes_web."""
