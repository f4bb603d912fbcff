module gotruth

go 1.22
