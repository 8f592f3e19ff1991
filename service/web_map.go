package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"riskmine/config"
	"riskmine/netguard"
	"riskmine/web"
)

// mapFetchTimeout bounds fetching a boundary layer from a URL.
const mapFetchTimeout = 30 * time.Second

// loadMapLayer reads the boundary layer of web.map: the file (already
// checked when the config was read) or the URL, fetched through the same
// SSRF guard as webhook deliveries (web.map.allow_private for an intranet
// PGIS; cloud metadata addresses always refused). nil without web.map.
// Errors are config errors naming web.map.boundaries.
func loadMapLayer(ctx context.Context, cfg *config.Config) (*web.MapLayer, error) {
	m := cfg.Web.Map
	if m.Boundaries == "" {
		return nil, nil
	}
	var areas []config.MapArea
	var err error
	if m.IsURL() {
		areas, err = fetchMap(ctx, m)
	} else {
		areas, err = config.ReadMapFile(m.Boundaries, m.CodeProperty)
	}
	if err != nil {
		return nil, cfg.MapError(err)
	}
	return &web.MapLayer{Areas: areas, Attribution: m.Attribution, Tiles: m.Tiles}, nil
}

func fetchMap(ctx context.Context, m config.WebMap) ([]config.MapArea, error) {
	u, err := url.Parse(m.Boundaries)
	if err != nil {
		return nil, err
	}
	g := &netguard.Guard{AllowPrivate: m.AllowPrivate}
	port := u.Port()
	if port == "" {
		port = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
	}
	hint := ""
	if !m.AllowPrivate {
		hint = " (set web.map.allow_private: true for a layer served on the intranet)"
	}
	ctx, cancel := context.WithTimeout(ctx, mapFetchTimeout)
	defer cancel()
	if err := g.CheckHost(ctx, u.Hostname(), port, net.DefaultResolver.LookupIPAddr); err != nil {
		return nil, fmt.Errorf("fetch %s: %v%s", m.Boundaries, err, hint)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // the guard judges the address dialled, not a proxy's
	tr.DialContext = g.Dialer(mapFetchTimeout).DialContext
	client := &http.Client{Transport: tr, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= 5 || (r.URL.Scheme != "http" && r.URL.Scheme != "https") {
			return fmt.Errorf("redirected %d times, last to %s", len(via), r.URL.Redacted())
		}
		return nil
	}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Boundaries, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/geo+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch: %v%s", err, hint)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: HTTP %d, expected 200 with the GeoJSON layer", m.Boundaries, resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, config.MaxMapBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %v", m.Boundaries, err)
	}
	areas, err := config.ParseMap(raw, m.CodeProperty)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Boundaries, err)
	}
	return areas, nil
}

// reloadMap reads the config again and puts its boundary layer in place
// (SIGHUP). A layer that fails to load leaves the map off, logged.
func (s *Service) reloadMap(ctx context.Context) {
	cfg, err := s.reconfig()
	if err != nil {
		s.log.Error("map reload: config", "error", err)
		return
	}
	s.setMap(ctx, cfg)
}

// setMap loads cfg's boundary layer into the web server. A layer that
// cannot be had (a PGIS down) does not keep riskmine from serving: the
// places view says the map is unavailable and the log says why.
func (s *Service) setMap(ctx context.Context, cfg *config.Config) {
	m, err := loadMapLayer(ctx, cfg)
	if err != nil {
		s.log.Error("boundary layer not loaded", "error", err)
		m = &web.MapLayer{Failed: true}
	}
	if err := s.web.SetMap(m); err != nil {
		s.log.Error("boundary layer not loaded", "error", err)
		return
	}
	if m != nil && !m.Failed {
		s.log.Info("boundary layer loaded", "areas", len(m.Areas), "boundaries", cfg.Web.Map.Boundaries)
	}
}
