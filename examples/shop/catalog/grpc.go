package catalog

import (
	"context"
	"math"
	"time"

	kitgrpc "github.com/go-kit/kit/transport/grpc"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tailorkit/tailor"
	"github.com/tailorkit/tailor/examples/shop/catalog/catalogpb"
	tgrpc "github.com/tailorkit/tailor/transport/grpc"
)

// RegisterGRPC serves s's endpoints on srv as the CatalogService of
// package tailor.shop.catalog.v1 (see catalogpb/catalog.proto), the gRPC
// twin of [RegisterHTTP]: the same endpoints, the same rules, the same
// errors. A request that fails validation is INVALID_ARGUMENT with every
// field violation in a google.rpc.BadRequest detail; an unknown product id
// is NOT_FOUND. opts are go-kit server options added to every method (an
// error handler, say).
//
// As over HTTP, CreateProduct takes a caller with the role [AdminRole]
// (UNAUTHENTICATED without one, PERMISSION_DENIED for another role): give
// srv the verifier's interceptor, grpc.ChainUnaryInterceptor(
// verifier.UnaryServerInterceptor()), which reads the "authorization"
// metadata.
//
// Register before srv serves, as with every gRPC service; with
// [github.com/tailorkit/tailor/service], register on Service.GRPCServer
// before Run.
func RegisterGRPC(srv *grpc.Server, s *Service, opts ...kitgrpc.ServerOption) {
	catalogpb.RegisterCatalogServiceServer(srv, &grpcServer{
		create: tgrpc.NewHandler(adminOnly(tailor.Endpoint(s.CreateProduct)), decodeCreateProductRequest, encodeProduct, opts...),
		get:    tgrpc.NewHandler(tailor.Endpoint(s.GetProduct), decodeGetProductRequest, encodeProduct, opts...),
		list:   tgrpc.NewHandler(tailor.Endpoint(s.ListProducts), decodeListProductsRequest, encodeListProductsResponse, opts...),
	})
}

// grpcServer implements the generated CatalogServiceServer with one
// handler per method.
type grpcServer struct {
	catalogpb.UnimplementedCatalogServiceServer

	create *tgrpc.Handler[*catalogpb.CreateProductRequest, *catalogpb.Product]
	get    *tgrpc.Handler[*catalogpb.GetProductRequest, *catalogpb.Product]
	list   *tgrpc.Handler[*catalogpb.ListProductsRequest, *catalogpb.ListProductsResponse]
}

func (g *grpcServer) CreateProduct(ctx context.Context, req *catalogpb.CreateProductRequest) (*catalogpb.Product, error) {
	return g.create.Serve(ctx, req)
}

func (g *grpcServer) GetProduct(ctx context.Context, req *catalogpb.GetProductRequest) (*catalogpb.Product, error) {
	return g.get.Serve(ctx, req)
}

func (g *grpcServer) ListProducts(ctx context.Context, req *catalogpb.ListProductsRequest) (*catalogpb.ListProductsResponse, error) {
	return g.list.Serve(ctx, req)
}

// Server side: protobuf requests in, protobuf replies out. Validation stays
// in the Service, so both transports enforce the same rules.

func decodeCreateProductRequest(_ context.Context, req *catalogpb.CreateProductRequest) (CreateProductRequest, error) {
	return CreateProductRequest{
		Name:        req.GetName(),
		Description: req.GetDescription(),
		Price:       moneyFromProto(req.GetPrice()),
		Stock:       req.Stock,
	}, nil
}

func decodeGetProductRequest(_ context.Context, req *catalogpb.GetProductRequest) (GetProductRequest, error) {
	return GetProductRequest{ID: req.GetId()}, nil
}

func decodeListProductsRequest(_ context.Context, req *catalogpb.ListProductsRequest) (ListProductsRequest, error) {
	return ListProductsRequest{Limit: int(req.GetLimit()), Cursor: req.GetCursor()}, nil
}

func encodeProduct(_ context.Context, p Product) (*catalogpb.Product, error) {
	return productToProto(p), nil
}

func encodeListProductsResponse(_ context.Context, resp ListProductsResponse) (*catalogpb.ListProductsResponse, error) {
	out := &catalogpb.ListProductsResponse{
		Items:      make([]*catalogpb.Product, len(resp.Items)),
		NextCursor: resp.NextCursor,
	}
	for i, p := range resp.Items {
		out.Items[i] = productToProto(p)
	}
	return out, nil
}

// GRPCClient calls a catalog over gRPC with the catalog's own Go types. Its
// methods have the same signatures as [Service]'s, so code that needs the
// catalog can take an interface that either satisfies, and the errors are
// the same [*fault.Error]s: errors.Is(err, fault.NotFound) for an unknown
// id, fault.InvalidArgument with the Violations for bad input.
//
// Every call sends the context's request ID and deadline. The client adds
// no retries, timeouts or breakers of its own; wrap the connection's calls
// in a policy where the caller needs one.
//
// A GRPCClient is safe for concurrent use. Its zero value is not usable;
// make one with [NewGRPCClient].
type GRPCClient struct {
	create tailor.Func[CreateProductRequest, Product]
	get    tailor.Func[GetProductRequest, Product]
	list   tailor.Func[ListProductsRequest, ListProductsResponse]
}

// NewGRPCClient returns a client of the CatalogService served over cc. Make
// cc with [tgrpc.NewConn] (github.com/tailorkit/tailor/transport/grpc),
// which turns statuses into fault errors for every call on it; the client
// does so itself whatever made cc. Closing cc is the caller's job. It
// fails only if the generated method names are not what gRPC expects.
func NewGRPCClient(cc *grpc.ClientConn) (*GRPCClient, error) {
	create, err := tgrpc.NewClient(cc, catalogpb.CatalogService_CreateProduct_FullMethodName, encodeCreateProductRequest, decodeProduct)
	if err != nil {
		return nil, err
	}
	get, err := tgrpc.NewClient(cc, catalogpb.CatalogService_GetProduct_FullMethodName, encodeGetProductRequest, decodeProduct)
	if err != nil {
		return nil, err
	}
	list, err := tgrpc.NewClient(cc, catalogpb.CatalogService_ListProducts_FullMethodName, encodeListProductsRequest, decodeListProductsResponse)
	if err != nil {
		return nil, err
	}
	return &GRPCClient{
		create: tailor.Call[CreateProductRequest, Product](create),
		get:    tailor.Call[GetProductRequest, Product](get),
		list:   tailor.Call[ListProductsRequest, ListProductsResponse](list),
	}, nil
}

// CreateProduct stores a new product and returns it with its ID. Bad input
// is a [fault.InvalidArgument] error listing every field violation. It is
// not safe to retry blindly: a call that timed out may have stored the
// product.
func (c *GRPCClient) CreateProduct(ctx context.Context, req CreateProductRequest) (Product, error) {
	return c.create(ctx, req)
}

// GetProduct returns one product, or a [fault.NotFound] error.
func (c *GRPCClient) GetProduct(ctx context.Context, req GetProductRequest) (Product, error) {
	return c.get(ctx, req)
}

// ListProducts returns a page of products in the order they were created;
// pass the page's NextCursor in the next request's Cursor until it is
// empty.
func (c *GRPCClient) ListProducts(ctx context.Context, req ListProductsRequest) (ListProductsResponse, error) {
	return c.list(ctx, req)
}

// Client side: the catalog's Go types out, protobuf replies back in.

func encodeCreateProductRequest(_ context.Context, req CreateProductRequest) (*catalogpb.CreateProductRequest, error) {
	return &catalogpb.CreateProductRequest{
		Name:        req.Name,
		Description: req.Description,
		Price:       moneyToProto(req.Price),
		Stock:       req.Stock,
	}, nil
}

func encodeGetProductRequest(_ context.Context, req GetProductRequest) (*catalogpb.GetProductRequest, error) {
	return &catalogpb.GetProductRequest{Id: req.ID}, nil
}

func encodeListProductsRequest(_ context.Context, req ListProductsRequest) (*catalogpb.ListProductsRequest, error) {
	// Clamp rather than wrap around: a limit beyond int32 stays out of range
	// on the wire, and the server answers it as it answers any bad limit.
	limit := int32(max(min(req.Limit, math.MaxInt32), math.MinInt32))
	return &catalogpb.ListProductsRequest{Limit: limit, Cursor: req.Cursor}, nil
}

func decodeProduct(_ context.Context, p *catalogpb.Product) (Product, error) {
	return productFromProto(p), nil
}

func decodeListProductsResponse(_ context.Context, resp *catalogpb.ListProductsResponse) (ListProductsResponse, error) {
	out := ListProductsResponse{
		Items:      make([]Product, len(resp.GetItems())),
		NextCursor: resp.GetNextCursor(),
	}
	for i, p := range resp.GetItems() {
		out.Items[i] = productFromProto(p)
	}
	return out, nil
}

// Conversions between the catalog's types and their protobuf messages.

func moneyToProto(m Money) *catalogpb.Money {
	return &catalogpb.Money{Amount: m.Amount, Currency: m.Currency}
}

func moneyFromProto(m *catalogpb.Money) Money {
	return Money{Amount: m.GetAmount(), Currency: m.GetCurrency()}
}

func productToProto(p Product) *catalogpb.Product {
	return &catalogpb.Product{
		Id:          p.ID,
		Name:        p.Name,
		Description: p.Description,
		Price:       moneyToProto(p.Price),
		CreatedAt:   timestamppb.New(p.CreatedAt),
	}
}

func productFromProto(p *catalogpb.Product) Product {
	var created time.Time
	if ts := p.GetCreatedAt(); ts != nil {
		created = ts.AsTime()
	}
	return Product{
		ID:          p.GetId(),
		Name:        p.GetName(),
		Description: p.GetDescription(),
		Price:       moneyFromProto(p.GetPrice()),
		CreatedAt:   created,
	}
}
