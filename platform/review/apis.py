"""Reviewers' labels over the API (`/api/v1/reviews`, scope `review`)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitokens.models import ApiToken
from apitokens.permissions import CanReview
from review.models import HumanLabel, ReviewLabel
from review.selectors import review_labels
from review.services import review_label_create
from verity.pagination import PagePagination


class ReviewLabelOutputSerializer(serializers.ModelSerializer):
    image_sha256 = serializers.CharField(source="image_id")
    reviewer = serializers.CharField(source="reviewer.username", allow_null=True, default=None)

    class Meta:
        model = ReviewLabel
        fields = ("id", "image_sha256", "label", "reviewer", "note", "created_at")


class ReviewListCreateApi(APIView):
    permission_classes = (CanReview,)
    throttle_scope = "read"

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewInput"

        image_sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$")
        label = serializers.ChoiceField(choices=HumanLabel.choices)  # type: ignore[assignment]
        note = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    class FilterSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReviewFilters"

        image_sha256 = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False)

    @extend_schema(
        operation_id="reviews_list",
        summary="Reviewers' labels, newest first (optionally for one image)",
        parameters=[FilterSerializer],
        responses={200: ReviewLabelOutputSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        labels = review_labels(image_sha256=filters.validated_data.get("image_sha256"))
        paginator = PagePagination()
        page = paginator.paginate_queryset(labels, request, view=self)
        return paginator.get_paginated_response(ReviewLabelOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="reviews_create",
        summary="Label an image as a reviewer (real, ai or unsure); the newest label counts",
        request=InputSerializer,
        responses={201: ReviewLabelOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = self.InputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token = request.auth
        assert isinstance(token, ApiToken)
        label = review_label_create(
            image_sha256=payload.validated_data["image_sha256"],
            label=payload.validated_data["label"],
            note=payload.validated_data.get("note", ""),
            reviewer=token.owner,
        )
        return Response(ReviewLabelOutputSerializer(label).data, status=status.HTTP_201_CREATED)
