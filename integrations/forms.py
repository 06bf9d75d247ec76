from django import forms

NEW = "__new__"
SKIP = ""


class TenantLinkForm(forms.Form):
    """For each Xero organisation of a connection: link to a client, create one, or skip."""

    def __init__(self, *args, tenants, organisations, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(SKIP, "Do not link"), (NEW, "Create a new client with this name")]
        choices += [(str(o.pk), o.name) for o in organisations]
        self.tenants = list(tenants)
        for tenant in self.tenants:
            linked = tenant.client_organisation_id
            initial = (
                str(linked)
                if linked
                else next(
                    (
                        str(o.pk)
                        for o in organisations
                        if o.name.lower() == tenant.tenant_name.lower()
                    ),
                    NEW,
                )
            )
            self.fields[f"tenant_{tenant.pk}"] = forms.ChoiceField(
                label=tenant.tenant_name, choices=choices, initial=initial, required=False
            )

    def links(self):
        for tenant in self.tenants:
            yield tenant, self.cleaned_data.get(f"tenant_{tenant.pk}", SKIP)
