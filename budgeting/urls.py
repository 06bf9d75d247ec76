from django.urls import path

from budgeting import views

urlpatterns = [
    path("f/<slug:firm_slug>/", views.firm_dashboard, name="firm_dashboard"),
]
