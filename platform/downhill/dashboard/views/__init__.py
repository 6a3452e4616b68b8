"""Server-rendered pages. Data comes from the same selectors and services as the API."""
