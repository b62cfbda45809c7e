from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path


@login_required
def page(request):
    return render(request, "page.html", {"name": request.user.username})


urlpatterns = [path("", page)]
