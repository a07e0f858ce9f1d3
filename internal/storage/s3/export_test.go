package s3

// SetPageSize lowers how many keys DeletePrefix lists and deletes per
// request, so tests can cover several pages with few objects.
func SetPageSize(s *Store, n int32) { s.pageSize = n }
