"""Members of the key's firm: who a draft's preparer or an approval's approver is."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from tenants import selectors
from tenants.api.base import FirmAPIView
from tenants.roles import Role


class MemberOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.display_name")
    role = serializers.ChoiceField(choices=Role.choices)
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "Member"


class MemberListApi(FirmAPIView):
    @extend_schema(
        operation_id="members_list",
        summary="List the firm's members",
        responses=MemberOutputSerializer(many=True),
        tags=["members"],
    )
    def get(self, request):
        """The firm's members and their roles."""
        members = selectors.membership_list(firm=request.firm)
        return self.paginated_response(members, MemberOutputSerializer)
