"""Client organisations of the key's firm."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from tenants import selectors
from tenants.api.base import FirmAPIView
from tenants.models import ClientOrganisation
from tenants.scoping import get_firm_object_or_404


class OrganisationOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    archived = serializers.SerializerMethodField()

    class Meta:
        model = ClientOrganisation
        fields = ["id", "name", "base_currency", "created_at", "archived"]
        ref_name = "Organisation"

    def get_archived(self, organisation: ClientOrganisation) -> bool:
        return organisation.archived_at is not None


class OrganisationListApi(FirmAPIView):
    etag = True

    class FilterSerializer(serializers.Serializer):
        include_archived = serializers.BooleanField(
            required=False, default=False, help_text="Also list archived organisations."
        )

    @extend_schema(
        operation_id="organisations_list",
        summary="List client organisations",
        parameters=[FilterSerializer],
        responses=OrganisationOutputSerializer(many=True),
        tags=["organisations"],
    )
    def get(self, request):
        """The firm's client organisations, oldest first; archived ones on request."""
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        organisations = selectors.client_organisation_list(
            firm=request.firm, **filters.validated_data
        )
        return self.paginated_response(organisations, OrganisationOutputSerializer)


class OrganisationDetailApi(FirmAPIView):
    etag = True

    @extend_schema(
        operation_id="organisations_retrieve",
        summary="Get a client organisation",
        responses=OrganisationOutputSerializer,
        tags=["organisations"],
    )
    def get(self, request, organisation_public_id):
        """One client organisation of the firm, by its id."""
        organisation = get_firm_object_or_404(
            ClientOrganisation, firm=request.firm, public_id=organisation_public_id
        )
        return Response(OrganisationOutputSerializer(organisation).data)
