package features

import (
	"time"

	"ownhttp/conn"
)

var (
	helloWorld = []byte("Hello World")
	okBody     = []byte(`{"status":"ok"}`)
	submitPfx  = "Received POST body: "
)

func (a *App) home(x *conn.Exchange, _ *params) { x.Text(200, textPlain, helloWorld) }

func (a *App) healthz(x *conn.Exchange, _ *params) {
	if x.Draining {
		x.Text(503, "application/json", []byte(`{"status":"draining"}`))
		return
	}
	x.Text(200, "application/json", okBody)
}

// submit echoes the body. Invalid UTF-8 is replaced as the original did (U+FFFD).
func (a *App) submit(x *conn.Exchange, _ *params) {
	body := make([]byte, 0, len(submitPfx)+len(x.Body))
	body = append(body, submitPfx...)
	body = appendValidUTF8(body, x.Body)
	x.Text(200, textPlain, body)
}

// streamDemo writes three chunks as they are produced, StreamInterval apart.
func (a *App) streamDemo(x *conn.Exchange, _ *params) {
	x.Header("Content-Type", textPlain)
	st := x.Stream(200)
	interval := a.cfg.StreamInterval
	go func() {
		defer st.Close()
		for i, chunk := range []string{"chunk-one\n", "chunk-two\n", "chunk-three\n"} {
			if i > 0 && interval > 0 {
				select {
				case <-time.After(interval):
				case <-st.Done():
					return
				}
			}
			if st.Write([]byte(chunk)) != nil {
				return
			}
		}
	}()
}
