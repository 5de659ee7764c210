"""Who may see and do what: the one place for sign-in checks, roles, areas of responsibility and personal data.

Routers use its dependencies (``CurrentUser``, ``AdminUser``, ``CityStaff``, ``VisibleElder``, …) and never
check a role by hand; services ask its questions (``covers_community``, ``can_view_request``, …).
"""
