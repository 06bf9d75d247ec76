from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Open sign-up: anyone may create an account; access to a firm comes only by invitation."""

    def get_login_redirect_url(self, request):
        next_url = request.GET.get("next") or request.POST.get("next")
        if next_url and next_url.startswith("/invitations/"):
            return next_url
        return super().get_login_redirect_url(request)
