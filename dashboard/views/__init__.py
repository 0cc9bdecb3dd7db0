"""The dashboard's pages, one module per page. Every view is @login_required and reads only
the signed-in account's data (another account's object is a 404, like a missing one)."""
