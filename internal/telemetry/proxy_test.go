package telemetry_test

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	gosync "sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// metadataProxy forwards every gRPC call to SpiceDB unchanged and notes
// the traceparent each arrived with: what SpiceDB itself receives.
type metadataProxy struct {
	addr string
	mu   gosync.Mutex
	seen []string
}

func (p *metadataProxy) has(tp string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.seen, tp)
}

func (p *metadataProxy) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// rawCodec passes messages through as bytes.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

func startMetadataProxy(t *testing.T, upstream string) *metadataProxy {
	t.Helper()
	conn, err := grpc.NewClient(upstream, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &metadataProxy{addr: ln.Addr().String()}
	srv := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(ss)
		md, _ := metadata.FromIncomingContext(ss.Context())
		p.mu.Lock()
		p.seen = append(p.seen, md.Get("traceparent")...)
		p.mu.Unlock()
		return forward(metadata.NewOutgoingContext(ss.Context(), md.Copy()), conn, method, ss)
	}))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return p
}

// forward relays one call whose client sends its messages first (unary or
// server streaming, as every call boxauthz makes).
func forward(ctx context.Context, conn *grpc.ClientConn, method string, ss grpc.ServerStream) error {
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return err
	}
	for {
		var msg []byte
		if err := ss.RecvMsg(&msg); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
		if err := cs.SendMsg(&msg); err != nil {
			return err
		}
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	for {
		var msg []byte
		if err := cs.RecvMsg(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if err := ss.SendMsg(&msg); err != nil {
			return err
		}
	}
}
