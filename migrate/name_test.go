package migrate

import "testing"

func TestParseName(t *testing.T) {
	for _, tc := range []struct {
		name        string
		wantVersion int64
		wantOK      bool
	}{
		{"0001_create_products.sql", 1, true},
		{"42_add-price.sql", 42, true},
		{"20240101120000_Add_Index2.sql", 20240101120000, true},
		{"0000_init.sql", 0, true},
		{"0001_create_products.SQL", 0, false},
		{"0001_create_products.txt", 0, false},
		{"0001.sql", 0, false},
		{"0001_.sql", 0, false},
		{"_create.sql", 0, false},
		{"create_products.sql", 0, false},
		{"0001-create_products.sql", 0, false},
		{"0001_two words.sql", 0, false},
		{"0001_create.products.sql", 0, false},
		{"+1_create.sql", 0, false},
		{"1234567890123456789_too_big.sql", 0, false},
		{"README.md", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseName(tc.name)
			if got != tc.wantVersion || ok != tc.wantOK {
				t.Errorf("parseName(%q): got (%d, %v), want (%d, %v)", tc.name, got, ok, tc.wantVersion, tc.wantOK)
			}
		})
	}
}

func TestValidTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"schema_migrations", true},
		{"Catalog_Migrations2", true},
		{"catalog.schema_migrations", true},
		{"", false},
		{"2fast", false},
		{"a.b.c", false},
		{".migrations", false},
		{"migrations.", false},
		{"schema-migrations", false},
		{"x; DROP TABLE users", false},
		{`"quoted"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := validTable(tc.name); got != tc.want {
				t.Errorf("validTable(%q): got %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}
