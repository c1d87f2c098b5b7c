package features

import (
	"ownhttp/conn"
	"ownhttp/features/files"
)

// static serves files under /static/ from Config.StaticDir, for GET and HEAD (the route
// table answers 405 with Allow: GET, HEAD for other methods). The name is checked here, on
// the event loop; the disk work runs in x.Go (package files says what each step refuses).
func (a *App) static(x *conn.Exchange, p *params) {
	name, status := files.Name(p[0])
	if status != 0 {
		files.PlainStatus(&x.Reply, status)
		return
	}
	q := files.QueryOf(x.Req, name, x.Now)
	dir := a.cfg.StaticDir
	x.GoOn(a.cfg.Files, func(r *conn.Reply) { // r starts with x's Route
		files.Serve(r, dir, &q)
	})
}
