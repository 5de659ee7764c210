"""The staff's pages: hotline console, area dashboard, bureau view (server-rendered shells, live data by API)."""
