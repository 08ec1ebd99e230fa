"""The try-on service: an HTTP API, a web page and a live camera mode over the library's engines.

``create_app(ServeSettings(...))`` builds the FastAPI app; ``tryon serve`` runs it with uvicorn.
The heavy lifting lives in :class:`~tryon.serve.service.TryOnService`, which knows nothing of HTTP.
"""
