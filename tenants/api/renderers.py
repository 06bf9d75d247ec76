"""How the API's JSON goes out."""

from rest_framework.renderers import JSONRenderer


class AttachmentJSONRenderer(JSONRenderer):
    """JSON with `Content-Disposition: attachment` (OWASP ASVS 14.4.2): a browser sent to an API
    URL saves the body instead of rendering it, so a response can never be read as a page. The
    browsable API is HTML from its own renderer and keeps showing inline; a response that names
    its own file (an export) keeps its name."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        response = (renderer_context or {}).get("response")
        # The browsable API renders its page's JSON through this renderer too: only a response
        # that goes out as JSON is an attachment.
        if (
            response is not None
            and isinstance(getattr(response, "accepted_renderer", self), JSONRenderer)
            and not response.has_header("Content-Disposition")
        ):
            response["Content-Disposition"] = 'attachment; filename="api.json"'
        return super().render(data, accepted_media_type, renderer_context)
