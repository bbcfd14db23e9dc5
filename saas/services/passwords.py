"""Password hashing (argon2) and the strength rule sign-up and invitations share."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_COMMON = {"password", "password1", "12345678", "123456789", "1234567890", "qwertyuiop",
           "iloveyou", "admin12345", "welcome123", "abc123456", "passw0rd", "11111111",
           "88888888", "woaini1314", "qwerty123", "zxcvbnm123", "a123456789"}
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if not stored:
        # Spend the same time as a real check so unknown emails are not revealed.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, email: str = "") -> list[str]:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if password.lower() in _COMMON or len(set(password)) < 4:
        problems.append("This password is too common or simple.")
    if not (any(c.isalpha() for c in password) and any(not c.isalpha() for c in password)):
        problems.append("Mix letters with digits or symbols.")
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in password.lower():
        problems.append("Do not include your email name in the password.")
    return problems
