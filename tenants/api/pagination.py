"""Cursor pagination: stable pages while rows are added, and no `OFFSET` scans on big tables."""

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination


class FirmCursorPagination(CursorPagination):
    # The primary key is unique and never changes, so a cursor never skips or repeats a row.
    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        # DRF quietly ignores a bad page_size; say so instead, like any other bad input.
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Give a whole number from 1 to {self.max_page_size}."]}
            )
        return size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound:
            raise self._invalid_cursor() from None
        # DRF checks the cursor's offset but not its position, which goes into the query as it is:
        # a position that is not a row's id (`p=abc`, `p=1 OR 1=1`, a NUL byte) would reach the
        # database and come back as a 500. Our orderings are by id, so a position is a whole number.
        if cursor is not None and cursor.position is not None:
            if not (cursor.position.isascii() and cursor.position.isdigit()):
                raise self._invalid_cursor()
            if int(cursor.position) > 2**63 - 1:
                raise self._invalid_cursor()
        return cursor

    def _invalid_cursor(self) -> exceptions.ValidationError:
        return exceptions.ValidationError(
            {
                self.cursor_query_param: [
                    "This cursor is not valid. Use the `next` or `previous` link of a page as it is."
                ]
            }
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = (
                    "Opaque: the `cursor` of a page's `next` or `previous` URL, passed back as it "
                    "is. Leave out for the first page; any other value is a 400."
                )
        return parameters

    def get_paginated_response_schema(self, schema):
        # DRF's example URLs point at api.example.org and do not say what to do with them.
        link = (
            "The absolute URL of the {} page, with every filter of this request and its "
            "`cursor`: GET it as it is, with the same key. Null when there is none."
        )
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": link.format("next"),
                    "example": "https://budgets.example.com/api/v1/organisations/?cursor=cD0xMDA%3D",
                },
                "previous": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": link.format("previous"),
                },
                "results": schema,
            },
        }
