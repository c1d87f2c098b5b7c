module ownhttp

go 1.26.0

require (
	github.com/matryer/is v1.4.1
	github.com/oklog/run v1.2.0
	github.com/peterbourgon/ff/v3 v3.4.0
	golang.org/x/sys v0.50.0
)

require github.com/fsnotify/fsnotify v1.10.1
