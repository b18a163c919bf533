"""The sign-in blueprint, apart from its routes so the password and the single sign-on modules share it."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
