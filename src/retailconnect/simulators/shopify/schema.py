"""The subset of Shopify's GraphQL Admin API (2025-01) the simulator serves, as SDL.

Names, argument names and payload shapes follow shopify.dev/docs/api/admin-graphql/2025-01; only the types,
fields and mutations the connector uses are present, so a query outside them fails validation the way an
unknown field fails at Shopify ("Field 'x' doesn't exist on type 'y'")."""

from __future__ import annotations

from graphql import GraphQLSchema, build_schema

SDL = """
scalar DateTime
scalar Decimal
scalar Money
scalar URL

interface Node { id: ID! }

type PageInfo { hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String endCursor: String }
type MoneyV2 { amount: Decimal! currencyCode: String! }
type MoneyBag { shopMoney: MoneyV2! presentmentMoney: MoneyV2! }

type Shop { name: String! myshopifyDomain: String! currencyCode: String! }

type Product implements Node { id: ID! legacyResourceId: ID! title: String! handle: String! }
type InventoryItem implements Node { id: ID! legacyResourceId: ID! sku: String tracked: Boolean! }
type ProductVariant implements Node {
  id: ID! legacyResourceId: ID! sku: String title: String! price: Money! compareAtPrice: Money
  product: Product! inventoryItem: InventoryItem!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection { edges: [ProductVariantEdge!]! nodes: [ProductVariant!]! pageInfo: PageInfo! }

type Location implements Node { id: ID! legacyResourceId: ID! name: String! isActive: Boolean! }
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }

type TaxLine { title: String! rate: Float priceSet: MoneyBag! }
type DiscountAllocation { allocatedAmountSet: MoneyBag! }
type LineItem implements Node {
  id: ID! sku: String name: String! title: String! quantity: Int! currentQuantity: Int!
  requiresShipping: Boolean! isGiftCard: Boolean! originalUnitPriceSet: MoneyBag!
  discountAllocations: [DiscountAllocation!]! taxLines: [TaxLine!]! variant: ProductVariant product: Product
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }
type ShippingLine {
  id: ID code: String title: String! originalPriceSet: MoneyBag! discountAllocations: [DiscountAllocation!]!
  taxLines: [TaxLine!]!
}
type ShippingLineEdge { cursor: String! node: ShippingLine! }
type ShippingLineConnection { edges: [ShippingLineEdge!]! nodes: [ShippingLine!]! pageInfo: PageInfo! }
type MailingAddress {
  firstName: String lastName: String company: String address1: String address2: String city: String
  provinceCode: String zip: String countryCodeV2: String phone: String
}
type Customer implements Node { id: ID! legacyResourceId: ID! email: String firstName: String lastName: String }
enum FulfillmentOrderStatus { OPEN IN_PROGRESS SCHEDULED CLOSED CANCELLED INCOMPLETE ON_HOLD }
type FulfillmentOrderLineItem implements Node { id: ID! totalQuantity: Int! remainingQuantity: Int! lineItem: LineItem! }
type FulfillmentOrderLineItemEdge { cursor: String! node: FulfillmentOrderLineItem! }
type FulfillmentOrderLineItemConnection {
  edges: [FulfillmentOrderLineItemEdge!]! nodes: [FulfillmentOrderLineItem!]! pageInfo: PageInfo!
}
type FulfillmentOrder implements Node {
  id: ID! status: FulfillmentOrderStatus!
  lineItems(first: Int, after: String): FulfillmentOrderLineItemConnection!
}
type FulfillmentOrderEdge { cursor: String! node: FulfillmentOrder! }
type FulfillmentOrderConnection { edges: [FulfillmentOrderEdge!]! nodes: [FulfillmentOrder!]! pageInfo: PageInfo! }

type Order implements Node {
  id: ID! legacyResourceId: ID! name: String! createdAt: DateTime! updatedAt: DateTime!
  note: String tags: [String!]! currencyCode: String! displayFinancialStatus: String
  displayFulfillmentStatus: String! cancelledAt: DateTime closedAt: DateTime processedAt: DateTime!
  email: String phone: String taxesIncluded: Boolean! presentmentCurrencyCode: String!
  totalPriceSet: MoneyBag! subtotalPriceSet: MoneyBag! totalDiscountsSet: MoneyBag!
  totalShippingPriceSet: MoneyBag! totalTaxSet: MoneyBag! currentTotalPriceSet: MoneyBag!
  currentSubtotalPriceSet: MoneyBag! currentTotalDiscountsSet: MoneyBag! currentTotalTaxSet: MoneyBag!
  customer: Customer shippingAddress: MailingAddress billingAddress: MailingAddress
  lineItems(first: Int, after: String): LineItemConnection!
  shippingLines(first: Int, after: String): ShippingLineConnection!
  fulfillmentOrders(first: Int, after: String): FulfillmentOrderConnection!
  transactions(first: Int): [OrderTransaction!]!
  fulfillments(first: Int): [Fulfillment!]!
  refunds(first: Int): [Refund!]!
}
enum OrderTransactionStatus { SUCCESS FAILURE PENDING ERROR AWAITING_RESPONSE UNKNOWN }
type OrderTransaction implements Node {
  id: ID! kind: OrderTransactionKind! status: OrderTransactionStatus! gateway: String amountSet: MoneyBag!
  createdAt: DateTime!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }
enum OrderSortKeys { CREATED_AT UPDATED_AT ID ORDER_NUMBER PROCESSED_AT TOTAL_PRICE }

type FulfillmentTrackingInfo { company: String number: String url: URL }
enum FulfillmentStatus { SUCCESS CANCELLED ERROR FAILURE OPEN PENDING }
type Fulfillment implements Node { id: ID! status: FulfillmentStatus! createdAt: DateTime! trackingInfo(first: Int): [FulfillmentTrackingInfo!]! }
type Refund implements Node { id: ID! note: String createdAt: DateTime! totalRefundedSet: MoneyBag! }

type UserError { field: [String!] message: String! }
type InventorySetQuantitiesUserError { field: [String!] message: String! code: String }
type InventoryChange { name: String! delta: Int! quantityAfterChange: Int }
type InventoryAdjustmentGroup { id: ID! reason: String! createdAt: DateTime! changes: [InventoryChange!]! }
type InventorySetQuantitiesPayload { inventoryAdjustmentGroup: InventoryAdjustmentGroup userErrors: [InventorySetQuantitiesUserError!]! }
type FulfillmentCreatePayload { fulfillment: Fulfillment userErrors: [UserError!]! }
type RefundCreatePayload { refund: Refund order: Order userErrors: [UserError!]! }
type ProductVariantsBulkUpdatePayload { product: Product productVariants: [ProductVariant!] userErrors: [UserError!]! }
type TagsAddPayload { node: Node userErrors: [UserError!]! }
type OrderUpdatePayload { order: Order userErrors: [UserError!]! }

enum WebhookSubscriptionTopic {
  ORDERS_CREATE ORDERS_UPDATED ORDERS_CANCELLED ORDERS_PAID REFUNDS_CREATE FULFILLMENTS_CREATE
  INVENTORY_LEVELS_UPDATE PRODUCTS_UPDATE
}
enum WebhookSubscriptionFormat { JSON XML }
type WebhookSubscription implements Node { id: ID! topic: WebhookSubscriptionTopic! callbackUrl: URL! format: WebhookSubscriptionFormat! }
type WebhookSubscriptionCreatePayload { webhookSubscription: WebhookSubscription userErrors: [UserError!]! }

input InventoryQuantityInput { inventoryItemId: ID! locationId: ID! quantity: Int! compareQuantity: Int }
input InventorySetQuantitiesInput {
  name: String! reason: String! referenceDocumentUri: String ignoreCompareQuantity: Boolean
  quantities: [InventoryQuantityInput!]!
}
input FulfillmentTrackingInput { company: String number: String url: URL numbers: [String!] urls: [URL!] }
input FulfillmentOrderLineItemInput { id: ID! quantity: Int! }
input FulfillmentOrderLineItemsInput { fulfillmentOrderId: ID! fulfillmentOrderLineItems: [FulfillmentOrderLineItemInput!] }
input FulfillmentInput {
  lineItemsByFulfillmentOrder: [FulfillmentOrderLineItemsInput!]! trackingInfo: FulfillmentTrackingInput
  notifyCustomer: Boolean
}
enum RefundLineItemRestockType { RETURN CANCEL LEGACY_RESTOCK NO_RESTOCK }
input RefundLineItemInput { lineItemId: ID! quantity: Int! restockType: RefundLineItemRestockType locationId: ID }
input ShippingRefundInput { amount: Money fullRefund: Boolean }
enum OrderTransactionKind { SALE CAPTURE AUTHORIZATION VOID REFUND CHANGE EMV_AUTHORIZATION SUGGESTED_REFUND }
input OrderTransactionInput { amount: Money! gateway: String! kind: OrderTransactionKind! orderId: ID! parentId: ID }
input RefundInput {
  orderId: ID! note: String notify: Boolean currency: String refundLineItems: [RefundLineItemInput!]
  shipping: ShippingRefundInput transactions: [OrderTransactionInput!]
}
input ProductVariantsBulkInput { id: ID price: Money compareAtPrice: Money }
input OrderInput { id: ID! note: String tags: [String!] email: String }
input WebhookSubscriptionInput { callbackUrl: URL format: WebhookSubscriptionFormat }

type Query {
  shop: Shop!
  productVariants(first: Int, after: String, query: String): ProductVariantConnection!
  locations(first: Int, after: String): LocationConnection!
  order(id: ID!): Order
  fulfillmentOrder(id: ID!): FulfillmentOrder
  orders(first: Int, after: String, query: String, sortKey: OrderSortKeys, reverse: Boolean): OrderConnection!
}

type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  fulfillmentCreate(fulfillment: FulfillmentInput!, message: String): FulfillmentCreatePayload
  refundCreate(input: RefundInput!): RefundCreatePayload
  productVariantsBulkUpdate(productId: ID!, variants: [ProductVariantsBulkInput!]!): ProductVariantsBulkUpdatePayload
  tagsAdd(id: ID!, tags: [String!]!): TagsAddPayload
  orderUpdate(input: OrderInput!): OrderUpdatePayload
  webhookSubscriptionCreate(topic: WebhookSubscriptionTopic!, webhookSubscription: WebhookSubscriptionInput!): WebhookSubscriptionCreatePayload
}
"""


def build() -> GraphQLSchema:
    return build_schema(SDL)
