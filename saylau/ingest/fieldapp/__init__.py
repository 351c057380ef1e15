"""The field app's static files (HTML, JS, CSS, manifest, service worker), served at /app/."""
