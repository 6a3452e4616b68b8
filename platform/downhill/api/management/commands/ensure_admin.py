"""Create the admin user named by DOWNHILL_ADMIN_USERNAME / DOWNHILL_ADMIN_PASSWORD.

With no password in the environment, a generated one is printed once, when the user is
created. With one, the user's password is set to it on every start (the environment wins).
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create (or update) the admin user from the environment."

    def handle(self, *args, **options):
        username = os.environ.get("DOWNHILL_ADMIN_USERNAME") or "admin"
        password = os.environ.get("DOWNHILL_ADMIN_PASSWORD") or ""
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            generated = not password
            password = password or secrets.token_urlsafe(12)
            User.objects.create_superuser(username=username, email="", password=password)
            if generated:
                self.stdout.write(
                    f"Created admin user '{username}' with the generated password: {password}\n"
                    "(shown only this once; set DOWNHILL_ADMIN_PASSWORD to choose your own)"
                )
            else:
                self.stdout.write(f"Created admin user '{username}'.")
        elif password and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"Updated the password of admin user '{username}'.")
        else:
            self.stdout.write(f"Admin user '{username}' exists.")
