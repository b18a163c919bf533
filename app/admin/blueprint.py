"""The admin blueprint, apart from its routes so route modules and the package import it in one direction."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
