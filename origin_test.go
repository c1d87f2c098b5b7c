package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
)

// Wire tests of the Host and Origin rules (issue #11, item 2): the lab's own surface answers
// only to this server's names (421 otherwise), and its state-changing API requests are refused
// from other web origins (403 cross_origin). Mocked paths are not affected.

// originReq sends one request to base with the given Host (empty: the URL's own) and header
// fields (name, value pairs), and returns status, header and body.
func originReq(t testing.TB, base, method, target, host, body string, fields ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Header.Set(fields[i], fields[i+1])
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s (Host %q): %v", method, target, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// errorCode returns the code of an API error body ("" when it is not one).
func errorCode(body string) string {
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// The curl line gets 421 for its Host, and so does every part of the lab's own
// surface under a name that is not this server's; mocked paths answer any Host; loopback
// names and addresses in their several spellings are this server's.
func TestForeignHost(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, base := startLabServer(t, engine)
		port := base[strings.LastIndexByte(base, ':')+1:]
		planted := `{"method":"GET","path_pattern":"/csrf/planted","body":"pwned"}`

		status, h, body := originReq(t, base, "POST", "/api/mocks", "rebind.evil.example", planted,
			"Origin", "http://evil.example", "Content-Type", "text/plain")
		is.Equal(status, 421)                               // the curl line
		is.Equal(h.Get("Content-Type"), "application/json") // JSON under /api/
		is.Equal(errorCode(body), "misdirected_request")    // its code
		status, _, _ = originReq(t, base, "GET", "/csrf/planted", "", "")
		is.Equal(status, 404) // nothing was planted

		for _, target := range []string{"/api/mocks", "/api/history", "/api/events/snapshot",
			"/playground", "/dashboard", "/assets/css/tower.css", "/_metrics", "/metrics"} {
			for _, host := range []string{"rebind.evil.example", "rebind.evil.example:" + port,
				"localhost.evil.example", "evil-localhost", "127.0.0.1.nip.example"} {
				status, h, _ := originReq(t, base, "GET", target, host, "")
				if status != 421 {
					t.Errorf("GET %s with Host %s: %d, want 421", target, host, status)
				}
				if strings.HasPrefix(target, "/api/") != (h.Get("Content-Type") == "application/json") {
					t.Errorf("GET %s with Host %s: Content-Type %q", target, host, h.Get("Content-Type"))
				}
			}
		}

		for _, host := range []string{"127.0.0.1:" + port, "127.0.0.1", "localhost:" + port, "LocalHost",
			"localhost.", "tower.localhost:" + port, "127.0.0.2:" + port, "[::1]:" + port, "[::ffff:127.0.0.1]"} {
			status, _, body := originReq(t, base, "GET", "/api/mocks", host, "")
			if status != 200 {
				t.Errorf("GET /api/mocks with Host %s: %d %s, want 200", host, status, body)
			}
		}

		// A mock answers under any name, on GET and on POST, even under /api/ and with an
		// Origin from elsewhere.
		for _, m := range []string{`{"method":"POST","path_pattern":"/api/users","status":201,"body":"made"}`,
			`{"method":"GET","path_pattern":"/hosted","body":"here"}`} {
			status, _, body := originReq(t, base, "POST", "/api/mocks", "", m)
			is.Equal(status, 201) // created without an Origin
			is.True(strings.Contains(body, `"mock"`))
		}
		status, _, body = originReq(t, base, "GET", "/hosted", "rebind.evil.example:"+port, "")
		is.Equal(status, 200)
		is.Equal(body, "here") // the mock answered
		status, _, body = originReq(t, base, "POST", "/api/users", "rebind.evil.example", "x", "Origin", "http://evil.example")
		is.Equal(status, 201)
		is.Equal(body, "made") // the mock answered
	})
}

// --allowed-hosts and --public-host name this server; other names still get 421.
func TestAllowedHosts(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--allowed-hosts", "lab.example.test, LAB2.example.test:9000,10.9.8.7",
			"--public-host", "pub.example.test")
		for _, tc := range []struct {
			host string
			want int
		}{
			{"lab.example.test", 200},
			{"lab.example.test:8080", 200},
			{"Lab2.Example.Test", 200},
			{"10.9.8.7:80", 200},
			{"pub.example.test", 200},
			{"localhost", 200},
			{"other.example.test", 421},
			{"sub.lab.example.test", 421},
			{"10.9.8.6", 421},
		} {
			status, _, body := originReq(t, base, "GET", "/api/mocks", tc.host, "")
			if status != tc.want {
				t.Errorf("Host %s: %d %s, want %d", tc.host, status, body, tc.want)
			}
		}
	})
}

// A state-changing API request is refused when a browser says it comes from another web
// origin, and served when it comes from this server's own origin, from an origin named in
// --cors-origins, or from a tool that sends no Origin.
func TestCrossOriginWrites(t *testing.T) {
	const tool = "http://tool.example.test"
	eachEngine(t, func(t *testing.T, engine string) {
		_, base := startLabServer(t, engine, "--cors-origins", tool+",*")
		u, _ := url.Parse(base)
		port := u.Port()
		n := 0
		mock := func() string {
			n++
			return `{"method":"GET","path_pattern":"/xo/` + strings.Repeat("m", n) + `","body":"x"}`
		}
		for _, tc := range []struct {
			name   string
			host   string
			fields []string
			want   int
		}{
			{"evil origin", "", []string{"Origin", "http://evil.example"}, 403},
			{"evil origin, form post", "", []string{"Origin", "http://evil.example", "Content-Type", "application/x-www-form-urlencoded"}, 403},
			{"null origin", "", []string{"Origin", "null"}, 403},
			{"another port of this host", "", []string{"Origin", "http://127.0.0.1:1"}, 403},
			{"another name of this server", "", []string{"Origin", "http://localhost:" + port}, 403},
			{"cross-site fetch without origin", "", []string{"Sec-Fetch-Site", "cross-site"}, 403},
			{"own origin, cross-site", "", []string{"Origin", base, "Sec-Fetch-Site", "cross-site"}, 403},
			{"no origin", "", nil, 201},
			{"no origin, same-origin fetch", "", []string{"Sec-Fetch-Site", "same-origin"}, 201},
			{"own origin", "", []string{"Origin", base, "Sec-Fetch-Site", "same-origin"}, 201},
			{"own origin under localhost", "localhost:" + port, []string{"Origin", "http://localhost:" + port}, 201},
			{"own origin, https scheme behind a proxy", "", []string{"Origin", "https://" + u.Host}, 201},
			{"own origin, default port", "lab.localhost:80", []string{"Origin", "http://lab.localhost"}, 201},
			{"named in --cors-origins", "", []string{"Origin", tool, "Sec-Fetch-Site", "cross-site"}, 201},
			{"user agent's own request", "", []string{"Sec-Fetch-Site", "none"}, 201},
		} {
			status, h, body := originReq(t, base, "POST", "/api/mocks", tc.host, mock(), tc.fields...)
			if status != tc.want {
				t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
				continue
			}
			if status == 403 && errorCode(body) != "cross_origin" {
				t.Errorf("%s: code %q, want cross_origin", tc.name, errorCode(body))
			}
			if tc.name == "named in --cors-origins" && h.Get("Access-Control-Allow-Origin") != tool {
				t.Errorf("%s: Access-Control-Allow-Origin %q", tc.name, h.Get("Access-Control-Allow-Origin"))
			}
			if tc.name == "evil origin" && h.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("%s: Access-Control-Allow-Origin %q", tc.name, h.Get("Access-Control-Allow-Origin"))
			}
		}

		is := is.New(t)
		// Every state-changing method of the API, not only POST.
		status, _, body := originReq(t, base, "PUT", "/api/mocks/nope", "", `{"body":"y"}`, "Origin", "http://evil.example")
		is.Equal(status, 403)
		is.Equal(errorCode(body), "cross_origin")
		status, _, _ = originReq(t, base, "DELETE", "/api/mocks/nope", "", "", "Origin", "http://evil.example")
		is.Equal(status, 403)
		// Reads are not refused (the browser keeps their answers from the page).
		status, h, _ := originReq(t, base, "GET", "/api/mocks", "", "", "Origin", "http://evil.example")
		is.Equal(status, 200)
		is.Equal(h.Get("Access-Control-Allow-Origin"), "") // and not shared with it

		// The proxy, too: the same kind of request never reaches the upstream.
		status, _, body = originReq(t, base, "POST", "/api/targets", "", `{"name":"self","base_url":"`+base+`"}`)
		is.Equal(status, 201)
		var made struct {
			Target struct {
				ID string `json:"id"`
			} `json:"target"`
		}
		is.NoErr(json.Unmarshal([]byte(body), &made))
		fire := `{"target_id":"` + made.Target.ID + `","path":"/healthz"}`
		status, _, body = originReq(t, base, "POST", "/api/proxy/request", "", fire, "Origin", "http://evil.example", "Content-Type", "text/plain")
		is.Equal(status, 403)
		is.Equal(errorCode(body), "cross_origin")
		status, _, body = originReq(t, base, "POST", "/api/targets", "", `{"name":"evil","base_url":"http://10.0.0.1"}`, "Origin", "null")
		is.Equal(status, 403) // no target made from a sandboxed page
		is.Equal(errorCode(body), "cross_origin")
		status, _, body = originReq(t, base, "POST", "/api/proxy/request", "", fire)
		is.Equal(status, 200) // a tool's request goes through
		is.True(strings.Contains(body, `"status":200`))
	})
}

// A CORS preflight for the API is answered only for an origin named in --cors-origins ("*"
// names none), and a write from "*" alone is refused.
func TestAPIPreflight(t *testing.T) {
	const tool = "http://tool.example.test"
	eachEngine(t, func(t *testing.T, engine string) {
		is := is.New(t)
		_, base := startLabServer(t, engine, "--cors-origins", "*,"+tool)
		preflight := func(origin string) (int, http.Header) {
			status, h, _ := originReq(t, base, "OPTIONS", "/api/mocks", "", "", "Origin", origin,
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, authorization")
			return status, h
		}
		status, h := preflight(tool)
		is.Equal(status, 204)
		is.Equal(h.Get("Access-Control-Allow-Origin"), tool)
		is.Equal(h.Get("Access-Control-Allow-Methods"), "GET, HEAD, POST, DELETE")
		is.Equal(h.Get("Access-Control-Allow-Headers"), "content-type, authorization")
		is.Equal(h.Get("Vary"), "Origin")

		status, h = preflight("http://evil.example")
		is.True(status != 204 && status < 500)             // not answered as a preflight
		is.Equal(h.Get("Access-Control-Allow-Origin"), "") // no CORS headers
		is.Equal(h.Get("Access-Control-Allow-Methods"), "")

		status, _, _ = originReq(t, base, "POST", "/api/mocks", "", `{"method":"GET","path_pattern":"/star","body":"x"}`, "Origin", "http://evil.example")
		is.Equal(status, 403) // "*" opens the mocks, not the API

		_, plain := startLabServer(t, engine)
		status, h, _ = originReq(t, plain, "OPTIONS", "/api/mocks", "", "", "Origin", tool, "Access-Control-Request-Method", "POST")
		is.True(status != 204)
		is.Equal(h.Get("Access-Control-Allow-Origin"), "")
	})
}
