"""The WSGI entry point: `flask` and gunicorn find the app here."""
from app import create_app

app = create_app()
