package api

import (
	"testing"

	"github.com/ospreyvideo/osprey/internal/catalog"
	"github.com/ospreyvideo/osprey/internal/catalog/catalogtest"
)

// The fake used by the API tests behaves like a real catalog.
func TestMemCatalogConforms(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, func(t *testing.T) catalog.Store { return newMemCatalog() })
}
