//! The `/v1` JSON API, health and metrics: the handlers and the OpenAPI description
//! generated from them.

use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Json, extract::Query};
use futures_util::{StreamExt as _, TryStreamExt as _};
use jiff::Timestamp;
use posbridge_core::{Connector, Operation, Return, Sale, SalePayment, Void};
use posbridge_outbox::{DeliveryQuery, DeliveryState, Document, DocumentKind, Enqueued, Target};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::cache::Cached;
use crate::problem::{ApiJson, under};
use crate::views::{
    BatchItem, BatchRequest, BatchResponse, DeliveryDetail, DeliveryList, DeliveryView, EnqueueResponse,
    EnqueuedDelivery, EventView, ProductsResponse, Resolution, ResolveRequest, StockResponse,
};
use crate::{Problem, Server};

/// The API's routes, their OpenAPI description added to `base` (the document's fixed
/// parts, [`crate::openapi`]).
pub(crate) fn router(base: utoipa::openapi::OpenApi) -> OpenApiRouter<Server> {
    OpenApiRouter::with_openapi(base)
        .routes(routes!(post_sale))
        .routes(routes!(post_sales_batch))
        .routes(routes!(post_return))
        .routes(routes!(post_void))
        .routes(routes!(post_payment))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(retry_delivery))
        .routes(routes!(resolve_delivery))
        .routes(routes!(get_stock))
        .routes(routes!(get_products))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// A query string, refused as problem+json.
#[derive(Debug, Clone)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| Problem::bad_request(format!("the query string is not understood: {}", e.body_text())))
    }
}

/// Where an enqueue goes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EnqueueParams {
    /// The tenant (only with an operator key; a tenant's key is its own tenant).
    tenant: Option<String>,
    /// Some of the tenant's vendors, comma-separated; all of them when absent.
    to: Option<String>,
}

/// The tenant's targets, or those of them `to` names.
fn targets_for(server: &Server, tenant: &str, to: Option<&str>) -> Result<Vec<Target>, Problem> {
    let Some(rt) = server.inner().tenants.get(tenant) else {
        return Err(Problem::invalid(
            "/tenant",
            format!("this service has no vendors configured for tenant `{tenant}`"),
        ));
    };
    let Some(to) = to else {
        return Ok(rt.targets.clone());
    };
    let mut out = Vec::new();
    for vendor in to.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let Some(t) = rt.targets.iter().find(|t| t.vendor == vendor) else {
            let known: Vec<&str> = rt.targets.iter().map(|t| t.vendor.as_str()).collect();
            return Err(Problem::invalid(
                "/to",
                format!(
                    "tenant `{tenant}` has no vendor `{vendor}` (it has: {})",
                    known.join(", ")
                ),
            ));
        };
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    if out.is_empty() {
        return Err(Problem::invalid("/to", "`to` names no vendor"));
    }
    Ok(out)
}

/// Enqueues one document for the caller's tenant: 201 when anything was queued, 200
/// when it all was already.
async fn enqueue(
    server: &Server,
    caller: &Caller,
    params: &EnqueueParams,
    document: Document,
) -> Result<(StatusCode, EnqueueResponse), Problem> {
    let kind = document.kind();
    let tenant = caller.write_scope(params.tenant.as_deref())?;
    let targets = targets_for(server, &tenant, params.to.as_deref())?;
    let reference = document.key().map_err(Problem::from)?;
    let result = server.outbox().enqueue_document(&document, &targets).await;
    let metrics = &server.inner().metrics;
    let results = match result {
        Ok(r) => r,
        Err(e) => {
            let problem = Problem::from(e);
            metrics.ingested(kind.as_str(), problem.status);
            return Err(problem);
        }
    };
    let fresh = results.iter().any(|r| r.enqueued != Enqueued::Existing);
    let status = if fresh { StatusCode::CREATED } else { StatusCode::OK };
    metrics.ingested(kind.as_str(), status.as_u16());
    let deliveries = results
        .into_iter()
        .map(|r| EnqueuedDelivery {
            enqueued: r.enqueued,
            delivery: r.delivery.into(),
        })
        .collect();
    Ok((status, EnqueueResponse { reference, deliveries }))
}

/// Enqueue a sale.
///
/// The sale is checked as the library checks it (totals to the cent, every field);
/// a refused sale is answered 422 naming the field, and nothing is queued. Posting the
/// same sale again answers 200 with the deliveries already queued; the same reference
/// with different content is 409 (unless every vendor it went to updates records).
#[utoipa::path(
    post, path = "/v1/sales", tag = "documents",
    params(EnqueueParams),
    request_body = Sale,
    responses(
        (status = 201, description = "Queued", body = EnqueueResponse),
        (status = 200, description = "Already queued, unchanged", body = EnqueueResponse),
        (status = 409, description = "The reference is queued with different content", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused; nothing queued", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn post_sale(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<EnqueueParams>,
    ApiJson(sale): ApiJson<Sale>,
) -> Result<(StatusCode, Json<EnqueueResponse>), Problem> {
    let (status, body) = enqueue(&server, &caller, &params, Document::Sale(sale)).await?;
    Ok((status, Json(body)))
}

/// Enqueue several sales.
///
/// Each sale is enqueued on its own, in order: one refused does not stop the others.
/// The answer is 200 with each sale's outcome (its status as if posted alone); a body
/// that is not a list of sales is refused whole.
#[utoipa::path(
    post, path = "/v1/sales/batch", tag = "documents",
    params(EnqueueParams),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "Each sale's outcome", body = BatchResponse),
        (status = 422, description = "The body is not a list of sales, or too long", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn post_sales_batch(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<EnqueueParams>,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<BatchResponse>, Problem> {
    let limit = server.config().batch_limit;
    if batch.sales.len() > limit {
        return Err(Problem::invalid(
            "/sales",
            format!(
                "a batch takes at most {limit} sales; this one has {}",
                batch.sales.len()
            ),
        ));
    }
    // Scope and targets are the same for every sale: refuse them once, up front.
    let tenant = caller.write_scope(params.tenant.as_deref())?;
    targets_for(&server, &tenant, params.to.as_deref())?;
    let mut out = BatchResponse {
        enqueued: 0,
        existing: 0,
        refused: 0,
        results: Vec::with_capacity(batch.sales.len()),
    };
    for (i, sale) in batch.sales.into_iter().enumerate() {
        let reference = sale.reference.clone();
        match enqueue(&server, &caller, &params, Document::Sale(sale)).await {
            Ok((status, body)) => {
                if status == StatusCode::CREATED {
                    out.enqueued += 1;
                } else {
                    out.existing += 1;
                }
                out.results.push(BatchItem {
                    reference,
                    status: status.as_u16(),
                    deliveries: Some(body.deliveries),
                    problem: None,
                });
            }
            Err(p) if p.status == 503 => return Err(p),
            Err(p) => {
                out.refused += 1;
                out.results.push(BatchItem {
                    reference,
                    status: p.status,
                    deliveries: None,
                    problem: Some(under(p, &format!("/sales/{i}"))),
                });
            }
        }
    }
    Ok(Json(out))
}

/// Enqueue a return.
///
/// Delivered at each vendor after the sale it refers to; a vendor without returns
/// records it `not_offered`. A return above what its sale sold (less earlier returns)
/// is refused, naming the line.
#[utoipa::path(
    post, path = "/v1/returns", tag = "documents",
    params(EnqueueParams),
    request_body = Return,
    responses(
        (status = 201, description = "Queued", body = EnqueueResponse),
        (status = 200, description = "Already queued, unchanged", body = EnqueueResponse),
        (status = 409, description = "The reference is queued with different content", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused; nothing queued", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn post_return(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<EnqueueParams>,
    ApiJson(ret): ApiJson<Return>,
) -> Result<(StatusCode, Json<EnqueueResponse>), Problem> {
    let (status, body) = enqueue(&server, &caller, &params, Document::Return(ret)).await?;
    Ok((status, Json(body)))
}

/// Enqueue a void of a sale.
#[utoipa::path(
    post, path = "/v1/voids", tag = "documents",
    params(EnqueueParams),
    request_body = Void,
    responses(
        (status = 201, description = "Queued", body = EnqueueResponse),
        (status = 200, description = "Already queued, unchanged", body = EnqueueResponse),
        (status = 422, description = "Refused; nothing queued", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn post_void(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<EnqueueParams>,
    ApiJson(void): ApiJson<Void>,
) -> Result<(StatusCode, Json<EnqueueResponse>), Problem> {
    let (status, body) = enqueue(&server, &caller, &params, Document::Void(void)).await?;
    Ok((status, Json(body)))
}

/// Enqueue a later payment against a sale (the payment needs its own reference).
#[utoipa::path(
    post, path = "/v1/payments", tag = "documents",
    params(EnqueueParams),
    request_body = SalePayment,
    responses(
        (status = 201, description = "Queued", body = EnqueueResponse),
        (status = 200, description = "Already queued, unchanged", body = EnqueueResponse),
        (status = 409, description = "The reference is queued with different content", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused; nothing queued", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn post_payment(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<EnqueueParams>,
    ApiJson(payment): ApiJson<SalePayment>,
) -> Result<(StatusCode, Json<EnqueueResponse>), Problem> {
    let (status, body) = enqueue(&server, &caller, &params, Document::Payment(payment)).await?;
    Ok((status, Json(body)))
}

/// Filters of a delivery listing.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// The tenant (operator keys; a tenant's key sees only its own).
    pub(crate) tenant: Option<String>,
    /// Only this vendor's.
    pub(crate) vendor: Option<String>,
    /// Only in this state.
    pub(crate) state: Option<String>,
    /// Only this document kind: `sale`, `return`, `void`, `payment`.
    pub(crate) kind: Option<String>,
    /// Only this reference — a sale's reference also finds its returns, voids and
    /// payments.
    pub(crate) reference: Option<String>,
    /// Only enqueued at or after (RFC 3339).
    pub(crate) since: Option<String>,
    /// Only enqueued before (RFC 3339).
    pub(crate) until: Option<String>,
    /// The `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub(crate) limit: Option<u32>,
}

fn parse_param<T: FromStr>(name: &str, value: Option<&str>, what: &str) -> Result<Option<T>, Problem> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| Problem::invalid(format!("/{name}"), format!("`{v}` is not {what}")))
        })
        .transpose()
}

/// The filters as an outbox query, confined to what the caller may see.
pub(crate) fn delivery_query(caller: &Caller, p: &ListParams) -> Result<DeliveryQuery, Problem> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::invalid("/limit", "limit is 1 to 1000"));
    }
    Ok(DeliveryQuery {
        // An empty filter (a form's blank field) means "all".
        tenant: caller.read_scope(p.tenant.as_deref().filter(|t| !t.is_empty()))?,
        vendor: p.vendor.clone().filter(|v| !v.is_empty()),
        state: parse_param::<DeliveryState>("state", p.state.as_deref(), "a delivery state")?,
        kind: parse_param::<DocumentKind>("kind", p.kind.as_deref(), "sale, return, void or payment")?,
        reference: p.reference.clone().filter(|v| !v.is_empty()),
        since: parse_param::<Timestamp>("since", p.since.as_deref(), "an RFC 3339 time")?,
        until: parse_param::<Timestamp>("until", p.until.as_deref(), "an RFC 3339 time")?,
        after: parse_param::<i64>("cursor", p.cursor.as_deref(), "a cursor from a previous page")?,
        limit,
    })
}

/// List deliveries, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/v1/deliveries", tag = "deliveries",
    params(ListParams),
    responses(
        (status = 200, description = "A page", body = DeliveryList),
        (status = 422, description = "A filter is not understood", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn list_deliveries(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<DeliveryList>, Problem> {
    let mut q = delivery_query(&caller, &params)?;
    let limit = q.limit;
    q.limit = limit.saturating_add(1);
    let mut rows = server.outbox().query(&q).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|d| d.id.to_string())
    } else {
        None
    };
    Ok(Json(DeliveryList {
        deliveries: rows.into_iter().map(DeliveryView::from).collect(),
        next_cursor,
    }))
}

fn parse_id(id: &str) -> Result<i64, Problem> {
    id.parse::<i64>()
        .map_err(|_| Problem::not_found(format!("no delivery with id `{id}`")))
}

/// A delivery the caller may see, else 404 (another tenant's is not told apart from
/// none).
pub(crate) async fn visible(server: &Server, caller: &Caller, id: i64) -> Result<posbridge_outbox::Delivery, Problem> {
    match server.outbox().get(id).await {
        Ok(d) if caller.may_see(&d) => Ok(d),
        Ok(_) | Err(posbridge_outbox::OutboxError::NotFound(_)) => {
            Err(Problem::not_found(format!("no delivery with id {id}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// One delivery: the document, and each attempt's outcome with the vendor's reason.
#[utoipa::path(
    get, path = "/v1/deliveries/{id}", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "The delivery", body = DeliveryDetail),
        (status = 404, description = "No such delivery for this key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn get_delivery(
    State(server): State<Server>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, Problem> {
    Ok(Json(detail(&server, &caller, parse_id(&id)?).await?))
}

/// A delivery with its document and events.
pub(crate) async fn detail(server: &Server, caller: &Caller, id: i64) -> Result<DeliveryDetail, Problem> {
    let delivery = visible(server, caller, id).await?;
    let document = server.outbox().document(id).await?;
    let events = server.outbox().events(id).await?;
    Ok(DeliveryDetail {
        delivery: delivery.into(),
        document: serde_json::to_value(&document).unwrap_or(serde_json::Value::Null),
        events: events.into_iter().map(EventView::from).collect(),
    })
}

/// Retry a dead delivery: queued again, due now, its attempts reset.
#[utoipa::path(
    post, path = "/v1/deliveries/{id}/retry", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id")),
    responses(
        (status = 200, description = "Queued again", body = DeliveryView),
        (status = 404, description = "No such delivery for this key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is not dead", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn retry_delivery(
    State(server): State<Server>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryView>, Problem> {
    Ok(Json(retry(&server, &caller, parse_id(&id)?).await?))
}

/// Retries a dead delivery the caller may see.
pub(crate) async fn retry(server: &Server, caller: &Caller, id: i64) -> Result<DeliveryView, Problem> {
    visible(server, caller, id).await?;
    server.outbox().retry_dead(Some(id)).await?;
    tracing::info!(key = %caller.key_id, delivery = id, "retried a dead delivery");
    Ok(server.outbox().get(id).await?.into())
}

/// Resolve an uncertain delivery: the vendor has it (`delivered`), or send it again
/// (`resend`).
#[utoipa::path(
    post, path = "/v1/deliveries/{id}/resolve", tag = "deliveries",
    params(("id" = i64, Path, description = "The delivery's id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "Settled", body = DeliveryView),
        (status = 404, description = "No such delivery for this key", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The delivery is not uncertain", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn resolve_delivery(
    State(server): State<Server>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveRequest>,
) -> Result<Json<DeliveryView>, Problem> {
    Ok(Json(resolve(&server, &caller, parse_id(&id)?, body.resolution).await?))
}

/// Resolves an uncertain delivery the caller may see.
pub(crate) async fn resolve(
    server: &Server,
    caller: &Caller,
    id: i64,
    resolution: Resolution,
) -> Result<DeliveryView, Problem> {
    visible(server, caller, id).await?;
    let r = match resolution {
        Resolution::Delivered => posbridge_outbox::Resolution::Delivered,
        Resolution::Resend => posbridge_outbox::Resolution::Resend,
    };
    let d = server.outbox().resolve(id, r).await?;
    tracing::info!(key = %caller.key_id, delivery = id, ?resolution, "resolved an uncertain delivery");
    Ok(d.into())
}

/// What a read-through names.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadParams {
    /// The tenant (operator keys only).
    tenant: Option<String>,
    /// The vendor to read.
    vendor: String,
    /// Only these product codes, comma-separated.
    codes: Option<String>,
}

/// The connector of one of the caller's tenant's vendors.
fn connector_for(server: &Server, caller: &Caller, p: &ReadParams) -> Result<(String, Arc<dyn Connector>), Problem> {
    let tenant = caller.write_scope(p.tenant.as_deref())?;
    let connector = server
        .inner()
        .tenants
        .get(&tenant)
        .and_then(|t| t.connectors.get(&p.vendor))
        .cloned()
        .ok_or_else(|| Problem::invalid("/vendor", format!("tenant `{tenant}` has no vendor `{}`", p.vendor)))?;
    Ok((tenant, connector))
}

/// A read of one of the caller's tenant's vendors through the short cache (keyed by
/// tenant, vendor and `what`).
async fn read_through<F>(
    server: &Server,
    caller: &Caller,
    params: &ReadParams,
    what: &'static str,
    read: impl FnOnce(Arc<dyn Connector>) -> F,
) -> Result<(Timestamp, Cached), Problem>
where
    F: Future<Output = Result<Cached, posbridge_core::Error>> + Send,
{
    let (tenant, connector) = connector_for(server, caller, params)?;
    let key = (tenant, params.vendor.clone(), what);
    server
        .inner()
        .cache
        .get_or_read(key, server.config().read_cache_ttl, async || read(connector).await)
        .await
        .map_err(Problem::from)
}

fn wanted(codes: Option<&str>) -> Option<Vec<&str>> {
    codes.map(|c| c.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
}

/// Stock levels, read through to the vendor (cached briefly).
#[utoipa::path(
    get, path = "/v1/stock", tag = "reads",
    params(ReadParams),
    responses(
        (status = 200, description = "The levels", body = StockResponse),
        (status = 501, description = "The vendor has no stock to read", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The vendor failed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn get_stock(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ReadParams>,
) -> Result<Json<StockResponse>, Problem> {
    let (fetched_at, cached) = read_through(&server, &caller, &params, "stock", |c| async move {
        let stock = c.stock().ok_or_else(|| c.unsupported_here(Operation::StockLevels))?;
        stock.stock_snapshot().await.map(|l| Cached::Stock(Arc::new(l)))
    })
    .await?;
    let Cached::Stock(levels) = cached else {
        return Err(Problem::unavailable("the stock cache held something else"));
    };
    let codes = wanted(params.codes.as_deref());
    let levels = levels
        .iter()
        .filter(|l| codes.as_ref().is_none_or(|c| c.contains(&l.product_code.as_str())))
        .cloned()
        .collect();
    Ok(Json(StockResponse {
        vendor: params.vendor,
        fetched_at,
        levels,
    }))
}

/// The most products one read keeps.
const PRODUCT_CAP: usize = 10_000;

/// Products, read through to the vendor (cached briefly; at most 10,000).
#[utoipa::path(
    get, path = "/v1/products", tag = "reads",
    params(ReadParams),
    responses(
        (status = 200, description = "The products", body = ProductsResponse),
        (status = 501, description = "The vendor has no product list", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The vendor failed", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn get_products(
    State(server): State<Server>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ReadParams>,
) -> Result<Json<ProductsResponse>, Problem> {
    let (fetched_at, cached) = read_through(&server, &caller, &params, "products", |c| async move {
        let catalogue = c
            .catalogue()
            .ok_or_else(|| c.unsupported_here(Operation::ListProducts))?;
        let mut products: Vec<_> = catalogue.products().take(PRODUCT_CAP + 1).try_collect().await?;
        let truncated = products.len() > PRODUCT_CAP;
        products.truncate(PRODUCT_CAP);
        Ok(Cached::Products(Arc::new(products), truncated))
    })
    .await?;
    let Cached::Products(products, truncated) = cached else {
        return Err(Problem::unavailable("the product cache held something else"));
    };
    let codes = wanted(params.codes.as_deref());
    let products = products
        .iter()
        .filter(|p| codes.as_ref().is_none_or(|c| c.contains(&p.code.as_str())))
        .cloned()
        .collect();
    Ok(Json(ProductsResponse {
        vendor: params.vendor,
        fetched_at,
        products,
        truncated,
    }))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Object)))]
async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// Readiness: the database answers and its migrations (the outbox's and the
/// service's) are current.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Object),
        (status = 503, description = "Not ready", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn readyz(State(server): State<Server>) -> Result<Json<serde_json::Value>, Problem> {
    let outbox = server.outbox();
    outbox
        .ping()
        .await
        .map_err(|_| Problem::unavailable("the database does not answer"))?;
    let current = outbox.migrations_current().await.unwrap_or(false)
        && crate::db::migrations_current(outbox).await.unwrap_or(false);
    if !current {
        return Err(Problem::unavailable("the database's migrations are not current"));
    }
    Ok(Json(
        serde_json::json!({"status": "ready", "backend": outbox.backend()}),
    ))
}

/// Prometheus metrics (operator key): deliveries by state and target, attempt
/// latency, errors by kind, requests by route.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "The Prometheus text format", body = String, content_type = "text/plain"),
        (status = 403, description = "Not an operator key", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn metrics(State(server): State<Server>, caller: Caller) -> Result<Response, Problem> {
    caller.require_operator()?;
    let text = server.inner().metrics.render(&server).await?;
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
