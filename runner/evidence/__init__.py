"""Turn engine results into receipt documents: one redactor, request/response views, collectors."""
