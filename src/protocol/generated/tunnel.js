/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal.js";

// Common aliases
const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const burrow = $root.burrow = (() => {

    /**
     * Namespace burrow.
     * @exports burrow
     * @namespace
     */
    const burrow = {};

    burrow.v1 = (function() {

        /**
         * Namespace v1.
         * @memberof burrow
         * @namespace
         */
        const v1 = {};

        v1.Frame = (function() {

            /**
             * Properties of a Frame.
             * @typedef {Object} burrow.v1.Frame.$Properties
             * @property {burrow.v1.Register.$Properties|null} [register] Frame register
             * @property {burrow.v1.RegisterAccepted.$Properties|null} [registerAccepted] Frame registerAccepted
             * @property {burrow.v1.RegisterRejected.$Properties|null} [registerRejected] Frame registerRejected
             * @property {burrow.v1.Heartbeat.$Properties|null} [heartbeat] Frame heartbeat
             * @property {burrow.v1.Drain.$Properties|null} [drain] Frame drain
             * @property {burrow.v1.Unregister.$Properties|null} [unregister] Frame unregister
             * @property {burrow.v1.RouteUpdate.$Properties|null} [routeUpdate] Frame routeUpdate
             * @property {burrow.v1.ConfigPush.$Properties|null} [configPush] Frame configPush
             * @property {burrow.v1.ProtocolError.$Properties|null} [protocolError] Frame protocolError
             * @property {burrow.v1.EnrollRequest.$Properties|null} [enrollRequest] Frame enrollRequest
             * @property {burrow.v1.EnrollResponse.$Properties|null} [enrollResponse] Frame enrollResponse
             * @property {burrow.v1.EnrollRejected.$Properties|null} [enrollRejected] Frame enrollRejected
             * @property {"register"|"registerAccepted"|"registerRejected"|"heartbeat"|"drain"|"unregister"|"routeUpdate"|"configPush"|"protocolError"|"enrollRequest"|"enrollResponse"|"enrollRejected"} [msg] Frame msg
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Frame.
             * @memberof burrow.v1
             * @interface IFrame
             * @augments burrow.v1.Frame.$Properties
             * @deprecated Use burrow.v1.Frame.$Properties instead.
             */

            /**
             * Narrowed shape of a Frame.
             * @typedef {{
             *   register?: burrow.v1.Register.$Shape|null;
             *   registerAccepted?: burrow.v1.RegisterAccepted.$Shape|null;
             *   registerRejected?: burrow.v1.RegisterRejected.$Shape|null;
             *   heartbeat?: burrow.v1.Heartbeat.$Shape|null;
             *   drain?: burrow.v1.Drain.$Shape|null;
             *   unregister?: burrow.v1.Unregister.$Shape|null;
             *   routeUpdate?: burrow.v1.RouteUpdate.$Shape|null;
             *   configPush?: burrow.v1.ConfigPush.$Shape|null;
             *   protocolError?: burrow.v1.ProtocolError.$Shape|null;
             *   enrollRequest?: burrow.v1.EnrollRequest.$Shape|null;
             *   enrollResponse?: burrow.v1.EnrollResponse.$Shape|null;
             *   enrollRejected?: burrow.v1.EnrollRejected.$Shape|null;
             *   $unknowns?: Array.<Uint8Array>;
             * } & (
             *   ({ msg?: undefined; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "register"; register: burrow.v1.Register.$Shape; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "registerAccepted"; register?: null; registerAccepted: burrow.v1.RegisterAccepted.$Shape; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "registerRejected"; register?: null; registerAccepted?: null; registerRejected: burrow.v1.RegisterRejected.$Shape; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "heartbeat"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat: burrow.v1.Heartbeat.$Shape; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "drain"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain: burrow.v1.Drain.$Shape; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "unregister"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister: burrow.v1.Unregister.$Shape; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "routeUpdate"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate: burrow.v1.RouteUpdate.$Shape; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "configPush"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush: burrow.v1.ConfigPush.$Shape; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "protocolError"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError: burrow.v1.ProtocolError.$Shape; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "enrollRequest"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest: burrow.v1.EnrollRequest.$Shape; enrollResponse?: null; enrollRejected?: null }|{ msg?: "enrollResponse"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse: burrow.v1.EnrollResponse.$Shape; enrollRejected?: null }|{ msg?: "enrollRejected"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected: burrow.v1.EnrollRejected.$Shape })
             * )} burrow.v1.Frame.$Shape
             */

            /**
             * Constructs a new Frame.
             * @memberof burrow.v1
             * @classdesc Represents a Frame.
             * @constructor
             * @param {burrow.v1.Frame.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Frame = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Frame register.
             * @member {burrow.v1.Register.$Properties|null|undefined} register
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.register = null;

            /**
             * Frame registerAccepted.
             * @member {burrow.v1.RegisterAccepted.$Properties|null|undefined} registerAccepted
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.registerAccepted = null;

            /**
             * Frame registerRejected.
             * @member {burrow.v1.RegisterRejected.$Properties|null|undefined} registerRejected
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.registerRejected = null;

            /**
             * Frame heartbeat.
             * @member {burrow.v1.Heartbeat.$Properties|null|undefined} heartbeat
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.heartbeat = null;

            /**
             * Frame drain.
             * @member {burrow.v1.Drain.$Properties|null|undefined} drain
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.drain = null;

            /**
             * Frame unregister.
             * @member {burrow.v1.Unregister.$Properties|null|undefined} unregister
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.unregister = null;

            /**
             * Frame routeUpdate.
             * @member {burrow.v1.RouteUpdate.$Properties|null|undefined} routeUpdate
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.routeUpdate = null;

            /**
             * Frame configPush.
             * @member {burrow.v1.ConfigPush.$Properties|null|undefined} configPush
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.configPush = null;

            /**
             * Frame protocolError.
             * @member {burrow.v1.ProtocolError.$Properties|null|undefined} protocolError
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.protocolError = null;

            /**
             * Frame enrollRequest.
             * @member {burrow.v1.EnrollRequest.$Properties|null|undefined} enrollRequest
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.enrollRequest = null;

            /**
             * Frame enrollResponse.
             * @member {burrow.v1.EnrollResponse.$Properties|null|undefined} enrollResponse
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.enrollResponse = null;

            /**
             * Frame enrollRejected.
             * @member {burrow.v1.EnrollRejected.$Properties|null|undefined} enrollRejected
             * @memberof burrow.v1.Frame
             * @instance
             */
            Frame.prototype.enrollRejected = null;

            // OneOf field names bound to virtual getters and setters
            let $oneOfFields;

            /**
             * Frame msg.
             * @member {"register"|"registerAccepted"|"registerRejected"|"heartbeat"|"drain"|"unregister"|"routeUpdate"|"configPush"|"protocolError"|"enrollRequest"|"enrollResponse"|"enrollRejected"|undefined} msg
             * @memberof burrow.v1.Frame
             * @instance
             */
            $Object.defineProperty(Frame.prototype, "msg", {
                get: $util.oneOfGetter($oneOfFields = ["register", "registerAccepted", "registerRejected", "heartbeat", "drain", "unregister", "routeUpdate", "configPush", "protocolError", "enrollRequest", "enrollResponse", "enrollRejected"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            /**
             * Encodes the specified Frame message. Does not implicitly {@link burrow.v1.Frame.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.Frame
             * @static
             * @param {burrow.v1.Frame.$Properties} m Frame message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Frame.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.register != null && $Object.hasOwnProperty.call(m, "register"))
                    $root.burrow.v1.Register.encode(m.register, w.uint32(/* id 1, wireType 2 =*/10).fork(), q + 1).ldelim();
                if (m.registerAccepted != null && $Object.hasOwnProperty.call(m, "registerAccepted"))
                    $root.burrow.v1.RegisterAccepted.encode(m.registerAccepted, w.uint32(/* id 2, wireType 2 =*/18).fork(), q + 1).ldelim();
                if (m.registerRejected != null && $Object.hasOwnProperty.call(m, "registerRejected"))
                    $root.burrow.v1.RegisterRejected.encode(m.registerRejected, w.uint32(/* id 3, wireType 2 =*/26).fork(), q + 1).ldelim();
                if (m.heartbeat != null && $Object.hasOwnProperty.call(m, "heartbeat"))
                    $root.burrow.v1.Heartbeat.encode(m.heartbeat, w.uint32(/* id 4, wireType 2 =*/34).fork(), q + 1).ldelim();
                if (m.drain != null && $Object.hasOwnProperty.call(m, "drain"))
                    $root.burrow.v1.Drain.encode(m.drain, w.uint32(/* id 5, wireType 2 =*/42).fork(), q + 1).ldelim();
                if (m.unregister != null && $Object.hasOwnProperty.call(m, "unregister"))
                    $root.burrow.v1.Unregister.encode(m.unregister, w.uint32(/* id 6, wireType 2 =*/50).fork(), q + 1).ldelim();
                if (m.routeUpdate != null && $Object.hasOwnProperty.call(m, "routeUpdate"))
                    $root.burrow.v1.RouteUpdate.encode(m.routeUpdate, w.uint32(/* id 7, wireType 2 =*/58).fork(), q + 1).ldelim();
                if (m.configPush != null && $Object.hasOwnProperty.call(m, "configPush"))
                    $root.burrow.v1.ConfigPush.encode(m.configPush, w.uint32(/* id 8, wireType 2 =*/66).fork(), q + 1).ldelim();
                if (m.protocolError != null && $Object.hasOwnProperty.call(m, "protocolError"))
                    $root.burrow.v1.ProtocolError.encode(m.protocolError, w.uint32(/* id 9, wireType 2 =*/74).fork(), q + 1).ldelim();
                if (m.enrollRequest != null && $Object.hasOwnProperty.call(m, "enrollRequest"))
                    $root.burrow.v1.EnrollRequest.encode(m.enrollRequest, w.uint32(/* id 10, wireType 2 =*/82).fork(), q + 1).ldelim();
                if (m.enrollResponse != null && $Object.hasOwnProperty.call(m, "enrollResponse"))
                    $root.burrow.v1.EnrollResponse.encode(m.enrollResponse, w.uint32(/* id 11, wireType 2 =*/90).fork(), q + 1).ldelim();
                if (m.enrollRejected != null && $Object.hasOwnProperty.call(m, "enrollRejected"))
                    $root.burrow.v1.EnrollRejected.encode(m.enrollRejected, w.uint32(/* id 12, wireType 2 =*/98).fork(), q + 1).ldelim();
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a Frame message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.Frame
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.Frame & burrow.v1.Frame.$Shape} Frame
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Frame.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.Frame();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            m.register = $root.burrow.v1.Register.decode(r, r.size(), $undefined, q + 1, m.register);
                            m.msg = "register";
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            m.registerAccepted = $root.burrow.v1.RegisterAccepted.decode(r, r.size(), $undefined, q + 1, m.registerAccepted);
                            m.msg = "registerAccepted";
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            m.registerRejected = $root.burrow.v1.RegisterRejected.decode(r, r.size(), $undefined, q + 1, m.registerRejected);
                            m.msg = "registerRejected";
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            m.heartbeat = $root.burrow.v1.Heartbeat.decode(r, r.size(), $undefined, q + 1, m.heartbeat);
                            m.msg = "heartbeat";
                            continue;
                        }
                    case 5: {
                            if (u !== 2)
                                break;
                            m.drain = $root.burrow.v1.Drain.decode(r, r.size(), $undefined, q + 1, m.drain);
                            m.msg = "drain";
                            continue;
                        }
                    case 6: {
                            if (u !== 2)
                                break;
                            m.unregister = $root.burrow.v1.Unregister.decode(r, r.size(), $undefined, q + 1, m.unregister);
                            m.msg = "unregister";
                            continue;
                        }
                    case 7: {
                            if (u !== 2)
                                break;
                            m.routeUpdate = $root.burrow.v1.RouteUpdate.decode(r, r.size(), $undefined, q + 1, m.routeUpdate);
                            m.msg = "routeUpdate";
                            continue;
                        }
                    case 8: {
                            if (u !== 2)
                                break;
                            m.configPush = $root.burrow.v1.ConfigPush.decode(r, r.size(), $undefined, q + 1, m.configPush);
                            m.msg = "configPush";
                            continue;
                        }
                    case 9: {
                            if (u !== 2)
                                break;
                            m.protocolError = $root.burrow.v1.ProtocolError.decode(r, r.size(), $undefined, q + 1, m.protocolError);
                            m.msg = "protocolError";
                            continue;
                        }
                    case 10: {
                            if (u !== 2)
                                break;
                            m.enrollRequest = $root.burrow.v1.EnrollRequest.decode(r, r.size(), $undefined, q + 1, m.enrollRequest);
                            m.msg = "enrollRequest";
                            continue;
                        }
                    case 11: {
                            if (u !== 2)
                                break;
                            m.enrollResponse = $root.burrow.v1.EnrollResponse.decode(r, r.size(), $undefined, q + 1, m.enrollResponse);
                            m.msg = "enrollResponse";
                            continue;
                        }
                    case 12: {
                            if (u !== 2)
                                break;
                            m.enrollRejected = $root.burrow.v1.EnrollRejected.decode(r, r.size(), $undefined, q + 1, m.enrollRejected);
                            m.msg = "enrollRejected";
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Frame
             * @function getTypeUrl
             * @memberof burrow.v1.Frame
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Frame.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.Frame";
            };

            return Frame;
        })();

        v1.Register = (function() {

            /**
             * Properties of a Register.
             * @typedef {Object} burrow.v1.Register.$Properties
             * @property {number|null} [protocolVersion] Register protocolVersion
             * @property {Array.<string>|null} [hostnames] Register hostnames
             * @property {Object.<string,string>|null} [labels] Register labels
             * @property {burrow.v1.ClientInfo.$Properties|null} [client] Register client
             * @property {number|null} [connIndex] Register connIndex
             * @property {number|null} [previousAttempts] Register previousAttempts
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Register.
             * @memberof burrow.v1
             * @interface IRegister
             * @augments burrow.v1.Register.$Properties
             * @deprecated Use burrow.v1.Register.$Properties instead.
             */

            /**
             * Shape of a Register.
             * @typedef {burrow.v1.Register.$Properties} burrow.v1.Register.$Shape
             */

            /**
             * Constructs a new Register.
             * @memberof burrow.v1
             * @classdesc Represents a Register.
             * @constructor
             * @param {burrow.v1.Register.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Register = function (p) {
                this.hostnames = [];
                this.labels = {};
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Register protocolVersion.
             * @member {number} protocolVersion
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.protocolVersion = 0;

            /**
             * Register hostnames.
             * @member {Array.<string>} hostnames
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.hostnames = $util.emptyArray;

            /**
             * Register labels.
             * @member {Object.<string,string>} labels
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.labels = $util.emptyObject;

            /**
             * Register client.
             * @member {burrow.v1.ClientInfo.$Properties|null|undefined} client
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.client = null;

            /**
             * Register connIndex.
             * @member {number} connIndex
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.connIndex = 0;

            /**
             * Register previousAttempts.
             * @member {number} previousAttempts
             * @memberof burrow.v1.Register
             * @instance
             */
            Register.prototype.previousAttempts = 0;

            /**
             * Encodes the specified Register message. Does not implicitly {@link burrow.v1.Register.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.Register
             * @static
             * @param {burrow.v1.Register.$Properties} m Register message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Register.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.protocolVersion != null && $Object.hasOwnProperty.call(m, "protocolVersion") && m.protocolVersion !== 0)
                    w.uint32(/* id 1, wireType 0 =*/8).uint32(m.protocolVersion);
                if (m.hostnames != null && m.hostnames.length) {
                    for (var i = 0; i < m.hostnames.length; ++i)
                        w.uint32(/* id 3, wireType 2 =*/26).string(m.hostnames[i]);
                }
                if (m.labels != null && $Object.hasOwnProperty.call(m, "labels")) {
                    for (var ks = $Object.keys(m.labels), i = 0; i < ks.length; ++i) {
                        w.uint32(/* id 4, wireType 2 =*/34).fork().uint32(/* id 1, wireType 2 =*/10).string(ks[i]).uint32(/* id 2, wireType 2 =*/18).string(m.labels[ks[i]]).ldelim();
                    }
                }
                if (m.client != null && $Object.hasOwnProperty.call(m, "client"))
                    $root.burrow.v1.ClientInfo.encode(m.client, w.uint32(/* id 5, wireType 2 =*/42).fork(), q + 1).ldelim();
                if (m.connIndex != null && $Object.hasOwnProperty.call(m, "connIndex") && m.connIndex !== 0)
                    w.uint32(/* id 6, wireType 0 =*/48).uint32(m.connIndex);
                if (m.previousAttempts != null && $Object.hasOwnProperty.call(m, "previousAttempts") && m.previousAttempts !== 0)
                    w.uint32(/* id 7, wireType 0 =*/56).uint32(m.previousAttempts);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a Register message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.Register
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.Register & burrow.v1.Register.$Shape} Register
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Register.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, k, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.Register();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.protocolVersion = v;
                            else
                                delete m.protocolVersion;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if (!(m.hostnames && m.hostnames.length))
                                m.hostnames = [];
                            m.hostnames.push(r.stringVerify());
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            if (m.labels === $util.emptyObject)
                                m.labels = {};
                            var c2 = r.size() + r.pos;
                            if (c2 > r.len)
                                throw $RangeError("index out of range");
                            r.len = c2;
                            k = "";
                            v = "";
                            while (r.pos < c2) {
                                var t2 = r.tag();
                                u = t2 & 7;
                                switch (t2 >>>= 3) {
                                case 1:
                                    if (u !== 2)
                                        break;
                                    k = r.stringVerify();
                                    continue;
                                case 2:
                                    if (u !== 2)
                                        break;
                                    v = r.stringVerify();
                                    continue;
                                }
                                r.skipType(u, q, t2);
                            }
                            if (r.pos !== c2)
                                throw $RangeError("index out of range");
                            r.len = c;
                            if (k === "__proto__")
                                $util.makeProp(m.labels, k);
                            m.labels[k] = v;
                            continue;
                        }
                    case 5: {
                            if (u !== 2)
                                break;
                            m.client = $root.burrow.v1.ClientInfo.decode(r, r.size(), $undefined, q + 1, m.client);
                            continue;
                        }
                    case 6: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.connIndex = v;
                            else
                                delete m.connIndex;
                            continue;
                        }
                    case 7: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.previousAttempts = v;
                            else
                                delete m.previousAttempts;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Register
             * @function getTypeUrl
             * @memberof burrow.v1.Register
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Register.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.Register";
            };

            return Register;
        })();

        v1.ClientInfo = (function() {

            /**
             * Properties of a ClientInfo.
             * @typedef {Object} burrow.v1.ClientInfo.$Properties
             * @property {string|null} [agentId] ClientInfo agentId
             * @property {string|null} [version] ClientInfo version
             * @property {string|null} [arch] ClientInfo arch
             * @property {Array.<string>|null} [features] ClientInfo features
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ClientInfo.
             * @memberof burrow.v1
             * @interface IClientInfo
             * @augments burrow.v1.ClientInfo.$Properties
             * @deprecated Use burrow.v1.ClientInfo.$Properties instead.
             */

            /**
             * Shape of a ClientInfo.
             * @typedef {burrow.v1.ClientInfo.$Properties} burrow.v1.ClientInfo.$Shape
             */

            /**
             * Constructs a new ClientInfo.
             * @memberof burrow.v1
             * @classdesc Represents a ClientInfo.
             * @constructor
             * @param {burrow.v1.ClientInfo.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ClientInfo = function (p) {
                this.features = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * ClientInfo agentId.
             * @member {string} agentId
             * @memberof burrow.v1.ClientInfo
             * @instance
             */
            ClientInfo.prototype.agentId = "";

            /**
             * ClientInfo version.
             * @member {string} version
             * @memberof burrow.v1.ClientInfo
             * @instance
             */
            ClientInfo.prototype.version = "";

            /**
             * ClientInfo arch.
             * @member {string} arch
             * @memberof burrow.v1.ClientInfo
             * @instance
             */
            ClientInfo.prototype.arch = "";

            /**
             * ClientInfo features.
             * @member {Array.<string>} features
             * @memberof burrow.v1.ClientInfo
             * @instance
             */
            ClientInfo.prototype.features = $util.emptyArray;

            /**
             * Encodes the specified ClientInfo message. Does not implicitly {@link burrow.v1.ClientInfo.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.ClientInfo
             * @static
             * @param {burrow.v1.ClientInfo.$Properties} m ClientInfo message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ClientInfo.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.agentId != null && $Object.hasOwnProperty.call(m, "agentId") && m.agentId !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.agentId);
                if (m.version != null && $Object.hasOwnProperty.call(m, "version") && m.version !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.version);
                if (m.arch != null && $Object.hasOwnProperty.call(m, "arch") && m.arch !== "")
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.arch);
                if (m.features != null && m.features.length) {
                    for (var i = 0; i < m.features.length; ++i)
                        w.uint32(/* id 4, wireType 2 =*/34).string(m.features[i]);
                }
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a ClientInfo message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.ClientInfo
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.ClientInfo & burrow.v1.ClientInfo.$Shape} ClientInfo
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ClientInfo.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.ClientInfo();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.agentId = v;
                            else
                                delete m.agentId;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.version = v;
                            else
                                delete m.version;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.arch = v;
                            else
                                delete m.arch;
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            if (!(m.features && m.features.length))
                                m.features = [];
                            m.features.push(r.stringVerify());
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for ClientInfo
             * @function getTypeUrl
             * @memberof burrow.v1.ClientInfo
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ClientInfo.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.ClientInfo";
            };

            return ClientInfo;
        })();

        v1.RegisterAccepted = (function() {

            /**
             * Properties of a RegisterAccepted.
             * @typedef {Object} burrow.v1.RegisterAccepted.$Properties
             * @property {string|null} [connectionId] RegisterAccepted connectionId
             * @property {string|null} [edgeId] RegisterAccepted edgeId
             * @property {Array.<string>|null} [hostnames] RegisterAccepted hostnames
             * @property {Array.<string>|null} [features] RegisterAccepted features
             * @property {number|null} [protocolVersion] RegisterAccepted protocolVersion
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a RegisterAccepted.
             * @memberof burrow.v1
             * @interface IRegisterAccepted
             * @augments burrow.v1.RegisterAccepted.$Properties
             * @deprecated Use burrow.v1.RegisterAccepted.$Properties instead.
             */

            /**
             * Shape of a RegisterAccepted.
             * @typedef {burrow.v1.RegisterAccepted.$Properties} burrow.v1.RegisterAccepted.$Shape
             */

            /**
             * Constructs a new RegisterAccepted.
             * @memberof burrow.v1
             * @classdesc Represents a RegisterAccepted.
             * @constructor
             * @param {burrow.v1.RegisterAccepted.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const RegisterAccepted = function (p) {
                this.hostnames = [];
                this.features = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * RegisterAccepted connectionId.
             * @member {string} connectionId
             * @memberof burrow.v1.RegisterAccepted
             * @instance
             */
            RegisterAccepted.prototype.connectionId = "";

            /**
             * RegisterAccepted edgeId.
             * @member {string} edgeId
             * @memberof burrow.v1.RegisterAccepted
             * @instance
             */
            RegisterAccepted.prototype.edgeId = "";

            /**
             * RegisterAccepted hostnames.
             * @member {Array.<string>} hostnames
             * @memberof burrow.v1.RegisterAccepted
             * @instance
             */
            RegisterAccepted.prototype.hostnames = $util.emptyArray;

            /**
             * RegisterAccepted features.
             * @member {Array.<string>} features
             * @memberof burrow.v1.RegisterAccepted
             * @instance
             */
            RegisterAccepted.prototype.features = $util.emptyArray;

            /**
             * RegisterAccepted protocolVersion.
             * @member {number} protocolVersion
             * @memberof burrow.v1.RegisterAccepted
             * @instance
             */
            RegisterAccepted.prototype.protocolVersion = 0;

            /**
             * Encodes the specified RegisterAccepted message. Does not implicitly {@link burrow.v1.RegisterAccepted.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.RegisterAccepted
             * @static
             * @param {burrow.v1.RegisterAccepted.$Properties} m RegisterAccepted message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            RegisterAccepted.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.connectionId != null && $Object.hasOwnProperty.call(m, "connectionId") && m.connectionId !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.connectionId);
                if (m.edgeId != null && $Object.hasOwnProperty.call(m, "edgeId") && m.edgeId !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.edgeId);
                if (m.hostnames != null && m.hostnames.length) {
                    for (var i = 0; i < m.hostnames.length; ++i)
                        w.uint32(/* id 3, wireType 2 =*/26).string(m.hostnames[i]);
                }
                if (m.features != null && m.features.length) {
                    for (var i = 0; i < m.features.length; ++i)
                        w.uint32(/* id 4, wireType 2 =*/34).string(m.features[i]);
                }
                if (m.protocolVersion != null && $Object.hasOwnProperty.call(m, "protocolVersion") && m.protocolVersion !== 0)
                    w.uint32(/* id 5, wireType 0 =*/40).uint32(m.protocolVersion);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a RegisterAccepted message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.RegisterAccepted
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.RegisterAccepted & burrow.v1.RegisterAccepted.$Shape} RegisterAccepted
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            RegisterAccepted.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.RegisterAccepted();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.connectionId = v;
                            else
                                delete m.connectionId;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.edgeId = v;
                            else
                                delete m.edgeId;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if (!(m.hostnames && m.hostnames.length))
                                m.hostnames = [];
                            m.hostnames.push(r.stringVerify());
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            if (!(m.features && m.features.length))
                                m.features = [];
                            m.features.push(r.stringVerify());
                            continue;
                        }
                    case 5: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.protocolVersion = v;
                            else
                                delete m.protocolVersion;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for RegisterAccepted
             * @function getTypeUrl
             * @memberof burrow.v1.RegisterAccepted
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            RegisterAccepted.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.RegisterAccepted";
            };

            return RegisterAccepted;
        })();

        v1.RegisterRejected = (function() {

            /**
             * Properties of a RegisterRejected.
             * @typedef {Object} burrow.v1.RegisterRejected.$Properties
             * @property {string|null} [code] RegisterRejected code
             * @property {string|null} [message] RegisterRejected message
             * @property {number|null} [retryAfterMs] RegisterRejected retryAfterMs
             * @property {boolean|null} [permanent] RegisterRejected permanent
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a RegisterRejected.
             * @memberof burrow.v1
             * @interface IRegisterRejected
             * @augments burrow.v1.RegisterRejected.$Properties
             * @deprecated Use burrow.v1.RegisterRejected.$Properties instead.
             */

            /**
             * Shape of a RegisterRejected.
             * @typedef {burrow.v1.RegisterRejected.$Properties} burrow.v1.RegisterRejected.$Shape
             */

            /**
             * Constructs a new RegisterRejected.
             * @memberof burrow.v1
             * @classdesc Represents a RegisterRejected.
             * @constructor
             * @param {burrow.v1.RegisterRejected.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const RegisterRejected = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * RegisterRejected code.
             * @member {string} code
             * @memberof burrow.v1.RegisterRejected
             * @instance
             */
            RegisterRejected.prototype.code = "";

            /**
             * RegisterRejected message.
             * @member {string} message
             * @memberof burrow.v1.RegisterRejected
             * @instance
             */
            RegisterRejected.prototype.message = "";

            /**
             * RegisterRejected retryAfterMs.
             * @member {number} retryAfterMs
             * @memberof burrow.v1.RegisterRejected
             * @instance
             */
            RegisterRejected.prototype.retryAfterMs = 0;

            /**
             * RegisterRejected permanent.
             * @member {boolean} permanent
             * @memberof burrow.v1.RegisterRejected
             * @instance
             */
            RegisterRejected.prototype.permanent = false;

            /**
             * Encodes the specified RegisterRejected message. Does not implicitly {@link burrow.v1.RegisterRejected.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.RegisterRejected
             * @static
             * @param {burrow.v1.RegisterRejected.$Properties} m RegisterRejected message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            RegisterRejected.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.code != null && $Object.hasOwnProperty.call(m, "code") && m.code !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.code);
                if (m.message != null && $Object.hasOwnProperty.call(m, "message") && m.message !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.message);
                if (m.retryAfterMs != null && $Object.hasOwnProperty.call(m, "retryAfterMs") && m.retryAfterMs !== 0)
                    w.uint32(/* id 3, wireType 0 =*/24).uint32(m.retryAfterMs);
                if (m.permanent != null && $Object.hasOwnProperty.call(m, "permanent") && m.permanent !== false)
                    w.uint32(/* id 4, wireType 0 =*/32).bool(m.permanent);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a RegisterRejected message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.RegisterRejected
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.RegisterRejected & burrow.v1.RegisterRejected.$Shape} RegisterRejected
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            RegisterRejected.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.RegisterRejected();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.code = v;
                            else
                                delete m.code;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.message = v;
                            else
                                delete m.message;
                            continue;
                        }
                    case 3: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.retryAfterMs = v;
                            else
                                delete m.retryAfterMs;
                            continue;
                        }
                    case 4: {
                            if (u !== 0)
                                break;
                            if (v = r.bool())
                                m.permanent = v;
                            else
                                delete m.permanent;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for RegisterRejected
             * @function getTypeUrl
             * @memberof burrow.v1.RegisterRejected
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            RegisterRejected.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.RegisterRejected";
            };

            return RegisterRejected;
        })();

        v1.Heartbeat = (function() {

            /**
             * Properties of a Heartbeat.
             * @typedef {Object} burrow.v1.Heartbeat.$Properties
             * @property {number|Long|null} [seq] Heartbeat seq
             * @property {boolean|null} [reply] Heartbeat reply
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Heartbeat.
             * @memberof burrow.v1
             * @interface IHeartbeat
             * @augments burrow.v1.Heartbeat.$Properties
             * @deprecated Use burrow.v1.Heartbeat.$Properties instead.
             */

            /**
             * Shape of a Heartbeat.
             * @typedef {burrow.v1.Heartbeat.$Properties} burrow.v1.Heartbeat.$Shape
             */

            /**
             * Constructs a new Heartbeat.
             * @memberof burrow.v1
             * @classdesc Represents a Heartbeat.
             * @constructor
             * @param {burrow.v1.Heartbeat.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Heartbeat = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Heartbeat seq.
             * @member {number|Long} seq
             * @memberof burrow.v1.Heartbeat
             * @instance
             */
            Heartbeat.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Heartbeat reply.
             * @member {boolean} reply
             * @memberof burrow.v1.Heartbeat
             * @instance
             */
            Heartbeat.prototype.reply = false;

            /**
             * Encodes the specified Heartbeat message. Does not implicitly {@link burrow.v1.Heartbeat.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.Heartbeat
             * @static
             * @param {burrow.v1.Heartbeat.$Properties} m Heartbeat message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Heartbeat.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.seq != null && $Object.hasOwnProperty.call(m, "seq") && (typeof m.seq === "object" ? m.seq.low || m.seq.high : m.seq !== 0))
                    w.uint32(/* id 1, wireType 0 =*/8).uint64(m.seq);
                if (m.reply != null && $Object.hasOwnProperty.call(m, "reply") && m.reply !== false)
                    w.uint32(/* id 2, wireType 0 =*/16).bool(m.reply);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a Heartbeat message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.Heartbeat
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.Heartbeat & burrow.v1.Heartbeat.$Shape} Heartbeat
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Heartbeat.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.Heartbeat();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.seq = v;
                            else
                                delete m.seq;
                            continue;
                        }
                    case 2: {
                            if (u !== 0)
                                break;
                            if (v = r.bool())
                                m.reply = v;
                            else
                                delete m.reply;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Heartbeat
             * @function getTypeUrl
             * @memberof burrow.v1.Heartbeat
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Heartbeat.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.Heartbeat";
            };

            return Heartbeat;
        })();

        v1.Drain = (function() {

            /**
             * Properties of a Drain.
             * @typedef {Object} burrow.v1.Drain.$Properties
             * @property {number|null} [deadlineMs] Drain deadlineMs
             * @property {string|null} [reason] Drain reason
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Drain.
             * @memberof burrow.v1
             * @interface IDrain
             * @augments burrow.v1.Drain.$Properties
             * @deprecated Use burrow.v1.Drain.$Properties instead.
             */

            /**
             * Shape of a Drain.
             * @typedef {burrow.v1.Drain.$Properties} burrow.v1.Drain.$Shape
             */

            /**
             * Constructs a new Drain.
             * @memberof burrow.v1
             * @classdesc Represents a Drain.
             * @constructor
             * @param {burrow.v1.Drain.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Drain = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Drain deadlineMs.
             * @member {number} deadlineMs
             * @memberof burrow.v1.Drain
             * @instance
             */
            Drain.prototype.deadlineMs = 0;

            /**
             * Drain reason.
             * @member {string} reason
             * @memberof burrow.v1.Drain
             * @instance
             */
            Drain.prototype.reason = "";

            /**
             * Encodes the specified Drain message. Does not implicitly {@link burrow.v1.Drain.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.Drain
             * @static
             * @param {burrow.v1.Drain.$Properties} m Drain message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Drain.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.deadlineMs != null && $Object.hasOwnProperty.call(m, "deadlineMs") && m.deadlineMs !== 0)
                    w.uint32(/* id 1, wireType 0 =*/8).uint32(m.deadlineMs);
                if (m.reason != null && $Object.hasOwnProperty.call(m, "reason") && m.reason !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.reason);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a Drain message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.Drain
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.Drain & burrow.v1.Drain.$Shape} Drain
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Drain.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.Drain();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (v = r.uint32())
                                m.deadlineMs = v;
                            else
                                delete m.deadlineMs;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.reason = v;
                            else
                                delete m.reason;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Drain
             * @function getTypeUrl
             * @memberof burrow.v1.Drain
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Drain.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.Drain";
            };

            return Drain;
        })();

        v1.Unregister = (function() {

            /**
             * Properties of an Unregister.
             * @typedef {Object} burrow.v1.Unregister.$Properties
             * @property {string|null} [reason] Unregister reason
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Unregister.
             * @memberof burrow.v1
             * @interface IUnregister
             * @augments burrow.v1.Unregister.$Properties
             * @deprecated Use burrow.v1.Unregister.$Properties instead.
             */

            /**
             * Shape of an Unregister.
             * @typedef {burrow.v1.Unregister.$Properties} burrow.v1.Unregister.$Shape
             */

            /**
             * Constructs a new Unregister.
             * @memberof burrow.v1
             * @classdesc Represents an Unregister.
             * @constructor
             * @param {burrow.v1.Unregister.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Unregister = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * Unregister reason.
             * @member {string} reason
             * @memberof burrow.v1.Unregister
             * @instance
             */
            Unregister.prototype.reason = "";

            /**
             * Encodes the specified Unregister message. Does not implicitly {@link burrow.v1.Unregister.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.Unregister
             * @static
             * @param {burrow.v1.Unregister.$Properties} m Unregister message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Unregister.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.reason != null && $Object.hasOwnProperty.call(m, "reason") && m.reason !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.reason);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an Unregister message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.Unregister
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.Unregister & burrow.v1.Unregister.$Shape} Unregister
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Unregister.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.Unregister();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.reason = v;
                            else
                                delete m.reason;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for Unregister
             * @function getTypeUrl
             * @memberof burrow.v1.Unregister
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Unregister.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.Unregister";
            };

            return Unregister;
        })();

        v1.RouteUpdate = (function() {

            /**
             * Properties of a RouteUpdate.
             * @typedef {Object} burrow.v1.RouteUpdate.$Properties
             * @property {Array.<string>|null} [addHostnames] RouteUpdate addHostnames
             * @property {Array.<string>|null} [removeHostnames] RouteUpdate removeHostnames
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a RouteUpdate.
             * @memberof burrow.v1
             * @interface IRouteUpdate
             * @augments burrow.v1.RouteUpdate.$Properties
             * @deprecated Use burrow.v1.RouteUpdate.$Properties instead.
             */

            /**
             * Shape of a RouteUpdate.
             * @typedef {burrow.v1.RouteUpdate.$Properties} burrow.v1.RouteUpdate.$Shape
             */

            /**
             * Constructs a new RouteUpdate.
             * @memberof burrow.v1
             * @classdesc Represents a RouteUpdate.
             * @constructor
             * @param {burrow.v1.RouteUpdate.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const RouteUpdate = function (p) {
                this.addHostnames = [];
                this.removeHostnames = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * RouteUpdate addHostnames.
             * @member {Array.<string>} addHostnames
             * @memberof burrow.v1.RouteUpdate
             * @instance
             */
            RouteUpdate.prototype.addHostnames = $util.emptyArray;

            /**
             * RouteUpdate removeHostnames.
             * @member {Array.<string>} removeHostnames
             * @memberof burrow.v1.RouteUpdate
             * @instance
             */
            RouteUpdate.prototype.removeHostnames = $util.emptyArray;

            /**
             * Encodes the specified RouteUpdate message. Does not implicitly {@link burrow.v1.RouteUpdate.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.RouteUpdate
             * @static
             * @param {burrow.v1.RouteUpdate.$Properties} m RouteUpdate message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            RouteUpdate.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.addHostnames != null && m.addHostnames.length) {
                    for (var i = 0; i < m.addHostnames.length; ++i)
                        w.uint32(/* id 1, wireType 2 =*/10).string(m.addHostnames[i]);
                }
                if (m.removeHostnames != null && m.removeHostnames.length) {
                    for (var i = 0; i < m.removeHostnames.length; ++i)
                        w.uint32(/* id 2, wireType 2 =*/18).string(m.removeHostnames[i]);
                }
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a RouteUpdate message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.RouteUpdate
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.RouteUpdate & burrow.v1.RouteUpdate.$Shape} RouteUpdate
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            RouteUpdate.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.RouteUpdate();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if (!(m.addHostnames && m.addHostnames.length))
                                m.addHostnames = [];
                            m.addHostnames.push(r.stringVerify());
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if (!(m.removeHostnames && m.removeHostnames.length))
                                m.removeHostnames = [];
                            m.removeHostnames.push(r.stringVerify());
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for RouteUpdate
             * @function getTypeUrl
             * @memberof burrow.v1.RouteUpdate
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            RouteUpdate.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.RouteUpdate";
            };

            return RouteUpdate;
        })();

        v1.ConfigPush = (function() {

            /**
             * Properties of a ConfigPush.
             * @typedef {Object} burrow.v1.ConfigPush.$Properties
             * @property {number|Long|null} [version] ConfigPush version
             * @property {Uint8Array|null} [config] ConfigPush config
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ConfigPush.
             * @memberof burrow.v1
             * @interface IConfigPush
             * @augments burrow.v1.ConfigPush.$Properties
             * @deprecated Use burrow.v1.ConfigPush.$Properties instead.
             */

            /**
             * Shape of a ConfigPush.
             * @typedef {burrow.v1.ConfigPush.$Properties} burrow.v1.ConfigPush.$Shape
             */

            /**
             * Constructs a new ConfigPush.
             * @memberof burrow.v1
             * @classdesc Represents a ConfigPush.
             * @constructor
             * @param {burrow.v1.ConfigPush.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ConfigPush = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * ConfigPush version.
             * @member {number|Long} version
             * @memberof burrow.v1.ConfigPush
             * @instance
             */
            ConfigPush.prototype.version = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * ConfigPush config.
             * @member {Uint8Array} config
             * @memberof burrow.v1.ConfigPush
             * @instance
             */
            ConfigPush.prototype.config = $util.newBuffer([]);

            /**
             * Encodes the specified ConfigPush message. Does not implicitly {@link burrow.v1.ConfigPush.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.ConfigPush
             * @static
             * @param {burrow.v1.ConfigPush.$Properties} m ConfigPush message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ConfigPush.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.version != null && $Object.hasOwnProperty.call(m, "version") && (typeof m.version === "object" ? m.version.low || m.version.high : m.version !== 0))
                    w.uint32(/* id 1, wireType 0 =*/8).uint64(m.version);
                if (m.config != null && $Object.hasOwnProperty.call(m, "config") && m.config.length)
                    w.uint32(/* id 2, wireType 2 =*/18).bytes(m.config);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a ConfigPush message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.ConfigPush
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.ConfigPush & burrow.v1.ConfigPush.$Shape} ConfigPush
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ConfigPush.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.ConfigPush();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.version = v;
                            else
                                delete m.version;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.bytes()).length)
                                m.config = v;
                            else
                                delete m.config;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for ConfigPush
             * @function getTypeUrl
             * @memberof burrow.v1.ConfigPush
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ConfigPush.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.ConfigPush";
            };

            return ConfigPush;
        })();

        v1.ProtocolError = (function() {

            /**
             * Properties of a ProtocolError.
             * @typedef {Object} burrow.v1.ProtocolError.$Properties
             * @property {string|null} [code] ProtocolError code
             * @property {string|null} [message] ProtocolError message
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ProtocolError.
             * @memberof burrow.v1
             * @interface IProtocolError
             * @augments burrow.v1.ProtocolError.$Properties
             * @deprecated Use burrow.v1.ProtocolError.$Properties instead.
             */

            /**
             * Shape of a ProtocolError.
             * @typedef {burrow.v1.ProtocolError.$Properties} burrow.v1.ProtocolError.$Shape
             */

            /**
             * Constructs a new ProtocolError.
             * @memberof burrow.v1
             * @classdesc Represents a ProtocolError.
             * @constructor
             * @param {burrow.v1.ProtocolError.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ProtocolError = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * ProtocolError code.
             * @member {string} code
             * @memberof burrow.v1.ProtocolError
             * @instance
             */
            ProtocolError.prototype.code = "";

            /**
             * ProtocolError message.
             * @member {string} message
             * @memberof burrow.v1.ProtocolError
             * @instance
             */
            ProtocolError.prototype.message = "";

            /**
             * Encodes the specified ProtocolError message. Does not implicitly {@link burrow.v1.ProtocolError.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.ProtocolError
             * @static
             * @param {burrow.v1.ProtocolError.$Properties} m ProtocolError message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ProtocolError.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.code != null && $Object.hasOwnProperty.call(m, "code") && m.code !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.code);
                if (m.message != null && $Object.hasOwnProperty.call(m, "message") && m.message !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.message);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a ProtocolError message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.ProtocolError
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.ProtocolError & burrow.v1.ProtocolError.$Shape} ProtocolError
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ProtocolError.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.ProtocolError();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.code = v;
                            else
                                delete m.code;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.message = v;
                            else
                                delete m.message;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for ProtocolError
             * @function getTypeUrl
             * @memberof burrow.v1.ProtocolError
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ProtocolError.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.ProtocolError";
            };

            return ProtocolError;
        })();

        v1.EnrollRequest = (function() {

            /**
             * Properties of an EnrollRequest.
             * @typedef {Object} burrow.v1.EnrollRequest.$Properties
             * @property {string|null} [token] EnrollRequest token
             * @property {Uint8Array|null} [csr] EnrollRequest csr
             * @property {burrow.v1.ClientInfo.$Properties|null} [client] EnrollRequest client
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an EnrollRequest.
             * @memberof burrow.v1
             * @interface IEnrollRequest
             * @augments burrow.v1.EnrollRequest.$Properties
             * @deprecated Use burrow.v1.EnrollRequest.$Properties instead.
             */

            /**
             * Shape of an EnrollRequest.
             * @typedef {burrow.v1.EnrollRequest.$Properties} burrow.v1.EnrollRequest.$Shape
             */

            /**
             * Constructs a new EnrollRequest.
             * @memberof burrow.v1
             * @classdesc Represents an EnrollRequest.
             * @constructor
             * @param {burrow.v1.EnrollRequest.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const EnrollRequest = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * EnrollRequest token.
             * @member {string} token
             * @memberof burrow.v1.EnrollRequest
             * @instance
             */
            EnrollRequest.prototype.token = "";

            /**
             * EnrollRequest csr.
             * @member {Uint8Array} csr
             * @memberof burrow.v1.EnrollRequest
             * @instance
             */
            EnrollRequest.prototype.csr = $util.newBuffer([]);

            /**
             * EnrollRequest client.
             * @member {burrow.v1.ClientInfo.$Properties|null|undefined} client
             * @memberof burrow.v1.EnrollRequest
             * @instance
             */
            EnrollRequest.prototype.client = null;

            /**
             * Encodes the specified EnrollRequest message. Does not implicitly {@link burrow.v1.EnrollRequest.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.EnrollRequest
             * @static
             * @param {burrow.v1.EnrollRequest.$Properties} m EnrollRequest message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            EnrollRequest.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.token != null && $Object.hasOwnProperty.call(m, "token") && m.token !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.token);
                if (m.csr != null && $Object.hasOwnProperty.call(m, "csr") && m.csr.length)
                    w.uint32(/* id 2, wireType 2 =*/18).bytes(m.csr);
                if (m.client != null && $Object.hasOwnProperty.call(m, "client"))
                    $root.burrow.v1.ClientInfo.encode(m.client, w.uint32(/* id 3, wireType 2 =*/26).fork(), q + 1).ldelim();
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an EnrollRequest message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.EnrollRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.EnrollRequest & burrow.v1.EnrollRequest.$Shape} EnrollRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            EnrollRequest.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.EnrollRequest();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.token = v;
                            else
                                delete m.token;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.bytes()).length)
                                m.csr = v;
                            else
                                delete m.csr;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            m.client = $root.burrow.v1.ClientInfo.decode(r, r.size(), $undefined, q + 1, m.client);
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for EnrollRequest
             * @function getTypeUrl
             * @memberof burrow.v1.EnrollRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            EnrollRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.EnrollRequest";
            };

            return EnrollRequest;
        })();

        v1.ZoneGrant = (function() {

            /**
             * Properties of a ZoneGrant.
             * @typedef {Object} burrow.v1.ZoneGrant.$Properties
             * @property {string|null} [zone] ZoneGrant zone
             * @property {boolean|null} [wildcard] ZoneGrant wildcard
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a ZoneGrant.
             * @memberof burrow.v1
             * @interface IZoneGrant
             * @augments burrow.v1.ZoneGrant.$Properties
             * @deprecated Use burrow.v1.ZoneGrant.$Properties instead.
             */

            /**
             * Shape of a ZoneGrant.
             * @typedef {burrow.v1.ZoneGrant.$Properties} burrow.v1.ZoneGrant.$Shape
             */

            /**
             * Constructs a new ZoneGrant.
             * @memberof burrow.v1
             * @classdesc Represents a ZoneGrant.
             * @constructor
             * @param {burrow.v1.ZoneGrant.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const ZoneGrant = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * ZoneGrant zone.
             * @member {string} zone
             * @memberof burrow.v1.ZoneGrant
             * @instance
             */
            ZoneGrant.prototype.zone = "";

            /**
             * ZoneGrant wildcard.
             * @member {boolean} wildcard
             * @memberof burrow.v1.ZoneGrant
             * @instance
             */
            ZoneGrant.prototype.wildcard = false;

            /**
             * Encodes the specified ZoneGrant message. Does not implicitly {@link burrow.v1.ZoneGrant.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.ZoneGrant
             * @static
             * @param {burrow.v1.ZoneGrant.$Properties} m ZoneGrant message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            ZoneGrant.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.zone != null && $Object.hasOwnProperty.call(m, "zone") && m.zone !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.zone);
                if (m.wildcard != null && $Object.hasOwnProperty.call(m, "wildcard") && m.wildcard !== false)
                    w.uint32(/* id 2, wireType 0 =*/16).bool(m.wildcard);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes a ZoneGrant message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.ZoneGrant
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.ZoneGrant & burrow.v1.ZoneGrant.$Shape} ZoneGrant
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            ZoneGrant.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.ZoneGrant();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.zone = v;
                            else
                                delete m.zone;
                            continue;
                        }
                    case 2: {
                            if (u !== 0)
                                break;
                            if (v = r.bool())
                                m.wildcard = v;
                            else
                                delete m.wildcard;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for ZoneGrant
             * @function getTypeUrl
             * @memberof burrow.v1.ZoneGrant
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            ZoneGrant.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.ZoneGrant";
            };

            return ZoneGrant;
        })();

        v1.EnrollResponse = (function() {

            /**
             * Properties of an EnrollResponse.
             * @typedef {Object} burrow.v1.EnrollResponse.$Properties
             * @property {string|null} [certificate] EnrollResponse certificate
             * @property {string|null} [ca] EnrollResponse ca
             * @property {string|null} [account] EnrollResponse account
             * @property {Array.<burrow.v1.ZoneGrant.$Properties>|null} [zones] EnrollResponse zones
             * @property {string|null} [serial] EnrollResponse serial
             * @property {number|Long|null} [notAfterMs] EnrollResponse notAfterMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an EnrollResponse.
             * @memberof burrow.v1
             * @interface IEnrollResponse
             * @augments burrow.v1.EnrollResponse.$Properties
             * @deprecated Use burrow.v1.EnrollResponse.$Properties instead.
             */

            /**
             * Shape of an EnrollResponse.
             * @typedef {burrow.v1.EnrollResponse.$Properties} burrow.v1.EnrollResponse.$Shape
             */

            /**
             * Constructs a new EnrollResponse.
             * @memberof burrow.v1
             * @classdesc Represents an EnrollResponse.
             * @constructor
             * @param {burrow.v1.EnrollResponse.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const EnrollResponse = function (p) {
                this.zones = [];
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * EnrollResponse certificate.
             * @member {string} certificate
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.certificate = "";

            /**
             * EnrollResponse ca.
             * @member {string} ca
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.ca = "";

            /**
             * EnrollResponse account.
             * @member {string} account
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.account = "";

            /**
             * EnrollResponse zones.
             * @member {Array.<burrow.v1.ZoneGrant.$Properties>} zones
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.zones = $util.emptyArray;

            /**
             * EnrollResponse serial.
             * @member {string} serial
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.serial = "";

            /**
             * EnrollResponse notAfterMs.
             * @member {number|Long} notAfterMs
             * @memberof burrow.v1.EnrollResponse
             * @instance
             */
            EnrollResponse.prototype.notAfterMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Encodes the specified EnrollResponse message. Does not implicitly {@link burrow.v1.EnrollResponse.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.EnrollResponse
             * @static
             * @param {burrow.v1.EnrollResponse.$Properties} m EnrollResponse message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            EnrollResponse.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.certificate != null && $Object.hasOwnProperty.call(m, "certificate") && m.certificate !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.certificate);
                if (m.ca != null && $Object.hasOwnProperty.call(m, "ca") && m.ca !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.ca);
                if (m.account != null && $Object.hasOwnProperty.call(m, "account") && m.account !== "")
                    w.uint32(/* id 3, wireType 2 =*/26).string(m.account);
                if (m.zones != null && m.zones.length) {
                    for (var i = 0; i < m.zones.length; ++i)
                        $root.burrow.v1.ZoneGrant.encode(m.zones[i], w.uint32(/* id 4, wireType 2 =*/34).fork(), q + 1).ldelim();
                }
                if (m.serial != null && $Object.hasOwnProperty.call(m, "serial") && m.serial !== "")
                    w.uint32(/* id 5, wireType 2 =*/42).string(m.serial);
                if (m.notAfterMs != null && $Object.hasOwnProperty.call(m, "notAfterMs") && (typeof m.notAfterMs === "object" ? m.notAfterMs.low || m.notAfterMs.high : m.notAfterMs !== 0))
                    w.uint32(/* id 6, wireType 0 =*/48).uint64(m.notAfterMs);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an EnrollResponse message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.EnrollResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.EnrollResponse & burrow.v1.EnrollResponse.$Shape} EnrollResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            EnrollResponse.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.EnrollResponse();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.certificate = v;
                            else
                                delete m.certificate;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.ca = v;
                            else
                                delete m.ca;
                            continue;
                        }
                    case 3: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.account = v;
                            else
                                delete m.account;
                            continue;
                        }
                    case 4: {
                            if (u !== 2)
                                break;
                            if (!(m.zones && m.zones.length))
                                m.zones = [];
                            m.zones.push($root.burrow.v1.ZoneGrant.decode(r, r.size(), $undefined, q + 1));
                            continue;
                        }
                    case 5: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.serial = v;
                            else
                                delete m.serial;
                            continue;
                        }
                    case 6: {
                            if (u !== 0)
                                break;
                            if (typeof (v = r.uint64()) === "object" ? v.low || v.high : v !== 0)
                                m.notAfterMs = v;
                            else
                                delete m.notAfterMs;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for EnrollResponse
             * @function getTypeUrl
             * @memberof burrow.v1.EnrollResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            EnrollResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.EnrollResponse";
            };

            return EnrollResponse;
        })();

        v1.EnrollRejected = (function() {

            /**
             * Properties of an EnrollRejected.
             * @typedef {Object} burrow.v1.EnrollRejected.$Properties
             * @property {string|null} [code] EnrollRejected code
             * @property {string|null} [message] EnrollRejected message
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an EnrollRejected.
             * @memberof burrow.v1
             * @interface IEnrollRejected
             * @augments burrow.v1.EnrollRejected.$Properties
             * @deprecated Use burrow.v1.EnrollRejected.$Properties instead.
             */

            /**
             * Shape of an EnrollRejected.
             * @typedef {burrow.v1.EnrollRejected.$Properties} burrow.v1.EnrollRejected.$Shape
             */

            /**
             * Constructs a new EnrollRejected.
             * @memberof burrow.v1
             * @classdesc Represents an EnrollRejected.
             * @constructor
             * @param {burrow.v1.EnrollRejected.$Properties=} [p] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const EnrollRejected = function (p) {
                if (p)
                    for (var ks = $Object.keys(p), i = 0; i < ks.length; ++i)
                        if (p[ks[i]] != null && ks[i] !== "__proto__")
                            this[ks[i]] = p[ks[i]];
            };

            /**
             * EnrollRejected code.
             * @member {string} code
             * @memberof burrow.v1.EnrollRejected
             * @instance
             */
            EnrollRejected.prototype.code = "";

            /**
             * EnrollRejected message.
             * @member {string} message
             * @memberof burrow.v1.EnrollRejected
             * @instance
             */
            EnrollRejected.prototype.message = "";

            /**
             * Encodes the specified EnrollRejected message. Does not implicitly {@link burrow.v1.EnrollRejected.verify|verify} messages.
             * @function encode
             * @memberof burrow.v1.EnrollRejected
             * @static
             * @param {burrow.v1.EnrollRejected.$Properties} m EnrollRejected message or plain object to encode
             * @param {$protobuf.Writer} [w] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            EnrollRejected.encode = function (m, w, q) {
                if (!w)
                    w = $Writer.create();
                if (q === $undefined)
                    q = 0;
                if (q > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (m.code != null && $Object.hasOwnProperty.call(m, "code") && m.code !== "")
                    w.uint32(/* id 1, wireType 2 =*/10).string(m.code);
                if (m.message != null && $Object.hasOwnProperty.call(m, "message") && m.message !== "")
                    w.uint32(/* id 2, wireType 2 =*/18).string(m.message);
                if (m.$unknowns != null && $Object.hasOwnProperty.call(m, "$unknowns"))
                    for (var i = 0; i < m.$unknowns.length; ++i)
                        w.raw(m.$unknowns[i]);
                return w;
            };

            /**
             * Decodes an EnrollRejected message from the specified reader or buffer.
             * @function decode
             * @memberof burrow.v1.EnrollRejected
             * @static
             * @param {$protobuf.Reader|Uint8Array} r Reader or buffer to decode from
             * @param {number} [l] Message length if known beforehand
             * @returns {burrow.v1.EnrollRejected & burrow.v1.EnrollRejected.$Shape} EnrollRejected
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            EnrollRejected.decode = function (r, l, z, q, g) {
                if (!(r instanceof $Reader))
                    r = $Reader.create(r);
                if (q === $undefined)
                    q = 0;
                if (q > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                var c, m, v;
                if (l === $undefined)
                    c = r.len;
                else {
                    c = r.pos + l;
                    if (c > r.len)
                        throw $RangeError("index out of range");
                    l = r.len;
                    r.len = c;
                }
                m = g || new $root.burrow.v1.EnrollRejected();
                while (r.pos < c) {
                    var s = r.pos;
                    var t = r.tag();
                    if (t === z) {
                        z = $undefined;
                        break;
                    }
                    var u = t & 7;
                    switch (t >>>= 3) {
                    case 1: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.code = v;
                            else
                                delete m.code;
                            continue;
                        }
                    case 2: {
                            if (u !== 2)
                                break;
                            if ((v = r.stringVerify()).length)
                                m.message = v;
                            else
                                delete m.message;
                            continue;
                        }
                    }
                    r.skipType(u, q, t);
                    if (!r.discardUnknown) {
                        $util.makeProp(m, "$unknowns", false);
                        (m.$unknowns || (m.$unknowns = [])).push(r.raw(s, r.pos));
                    }
                }
                if (l !== $undefined) {
                    if (r.pos !== c)
                        throw $RangeError("index out of range");
                    r.len = l;
                }
                if (z !== $undefined)
                    throw $Error("missing end group");
                return m;
            };

            /**
             * Gets the type url for EnrollRejected
             * @function getTypeUrl
             * @memberof burrow.v1.EnrollRejected
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            EnrollRejected.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/burrow.v1.EnrollRejected";
            };

            return EnrollRejected;
        })();

        return v1;
    })();

    return burrow;
})();

export {
  $root as default
};
