"""Pages for people: the API's own docs (`/docs`, `/redoc`) and the dashboard, all served
from this server with assets from installed packages (no CDN)."""
