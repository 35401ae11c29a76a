"""One spider per file: `site` follows links, `sitemap` reads sitemaps, `pages` reads a list."""
