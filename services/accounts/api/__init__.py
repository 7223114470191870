"""The HTTP API of the accounts service: thin routers (parse → context → execute → respond)."""

from fastapi import APIRouter

from . import accounts, contacts, touches, views

ROUTERS: list[APIRouter] = [accounts.router, contacts.router, touches.router, views.router]
