"""Write the reads a request recorded in one go, when its response is ready."""

from cvrtracker.audit.services import collecting


class AuditMiddleware:
    """The reads of Amazon data a view records are held until the view has built its
    response, then written in one INSERT per team, before any byte leaves: a read
    whose entry cannot be written is not served (the response becomes a 500)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with collecting():
            return self.get_response(request)
