"""HTTP clients of external business systems, each a subclass of erp.http.HttpClient."""
