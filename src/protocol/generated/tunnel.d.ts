import * as $protobuf from "protobufjs";
import Long = require("long");

export namespace burrow {

    namespace v1 {

        interface IFrame extends burrow.v1.Frame.$Properties {
        }

        class Frame {
            constructor(p?: burrow.v1.Frame.$Properties);
            $unknowns?: Uint8Array[];
            register?: (burrow.v1.Register.$Properties|null);
            registerAccepted?: (burrow.v1.RegisterAccepted.$Properties|null);
            registerRejected?: (burrow.v1.RegisterRejected.$Properties|null);
            heartbeat?: (burrow.v1.Heartbeat.$Properties|null);
            drain?: (burrow.v1.Drain.$Properties|null);
            unregister?: (burrow.v1.Unregister.$Properties|null);
            routeUpdate?: (burrow.v1.RouteUpdate.$Properties|null);
            configPush?: (burrow.v1.ConfigPush.$Properties|null);
            protocolError?: (burrow.v1.ProtocolError.$Properties|null);
            enrollRequest?: (burrow.v1.EnrollRequest.$Properties|null);
            enrollResponse?: (burrow.v1.EnrollResponse.$Properties|null);
            enrollRejected?: (burrow.v1.EnrollRejected.$Properties|null);
            msg?: ("register"|"registerAccepted"|"registerRejected"|"heartbeat"|"drain"|"unregister"|"routeUpdate"|"configPush"|"protocolError"|"enrollRequest"|"enrollResponse"|"enrollRejected");
            static encode(m: burrow.v1.Frame.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.Frame & burrow.v1.Frame.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Frame {
            interface $Properties {
                register?: (burrow.v1.Register.$Properties|null);
                registerAccepted?: (burrow.v1.RegisterAccepted.$Properties|null);
                registerRejected?: (burrow.v1.RegisterRejected.$Properties|null);
                heartbeat?: (burrow.v1.Heartbeat.$Properties|null);
                drain?: (burrow.v1.Drain.$Properties|null);
                unregister?: (burrow.v1.Unregister.$Properties|null);
                routeUpdate?: (burrow.v1.RouteUpdate.$Properties|null);
                configPush?: (burrow.v1.ConfigPush.$Properties|null);
                protocolError?: (burrow.v1.ProtocolError.$Properties|null);
                enrollRequest?: (burrow.v1.EnrollRequest.$Properties|null);
                enrollResponse?: (burrow.v1.EnrollResponse.$Properties|null);
                enrollRejected?: (burrow.v1.EnrollRejected.$Properties|null);
                msg?: ("register"|"registerAccepted"|"registerRejected"|"heartbeat"|"drain"|"unregister"|"routeUpdate"|"configPush"|"protocolError"|"enrollRequest"|"enrollResponse"|"enrollRejected");
                $unknowns?: Uint8Array[];
            }
            type $Shape = {
              register?: burrow.v1.Register.$Shape|null;
              registerAccepted?: burrow.v1.RegisterAccepted.$Shape|null;
              registerRejected?: burrow.v1.RegisterRejected.$Shape|null;
              heartbeat?: burrow.v1.Heartbeat.$Shape|null;
              drain?: burrow.v1.Drain.$Shape|null;
              unregister?: burrow.v1.Unregister.$Shape|null;
              routeUpdate?: burrow.v1.RouteUpdate.$Shape|null;
              configPush?: burrow.v1.ConfigPush.$Shape|null;
              protocolError?: burrow.v1.ProtocolError.$Shape|null;
              enrollRequest?: burrow.v1.EnrollRequest.$Shape|null;
              enrollResponse?: burrow.v1.EnrollResponse.$Shape|null;
              enrollRejected?: burrow.v1.EnrollRejected.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ msg?: undefined; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "register"; register: burrow.v1.Register.$Shape; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "registerAccepted"; register?: null; registerAccepted: burrow.v1.RegisterAccepted.$Shape; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "registerRejected"; register?: null; registerAccepted?: null; registerRejected: burrow.v1.RegisterRejected.$Shape; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "heartbeat"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat: burrow.v1.Heartbeat.$Shape; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "drain"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain: burrow.v1.Drain.$Shape; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "unregister"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister: burrow.v1.Unregister.$Shape; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "routeUpdate"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate: burrow.v1.RouteUpdate.$Shape; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "configPush"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush: burrow.v1.ConfigPush.$Shape; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "protocolError"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError: burrow.v1.ProtocolError.$Shape; enrollRequest?: null; enrollResponse?: null; enrollRejected?: null }|{ msg?: "enrollRequest"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest: burrow.v1.EnrollRequest.$Shape; enrollResponse?: null; enrollRejected?: null }|{ msg?: "enrollResponse"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse: burrow.v1.EnrollResponse.$Shape; enrollRejected?: null }|{ msg?: "enrollRejected"; register?: null; registerAccepted?: null; registerRejected?: null; heartbeat?: null; drain?: null; unregister?: null; routeUpdate?: null; configPush?: null; protocolError?: null; enrollRequest?: null; enrollResponse?: null; enrollRejected: burrow.v1.EnrollRejected.$Shape })
            );
        }

        interface IRegister extends burrow.v1.Register.$Properties {
        }

        class Register {
            constructor(p?: burrow.v1.Register.$Properties);
            $unknowns?: Uint8Array[];
            protocolVersion: number;
            hostnames: string[];
            labels: { [k: string]: string };
            client?: (burrow.v1.ClientInfo.$Properties|null);
            connIndex: number;
            previousAttempts: number;
            static encode(m: burrow.v1.Register.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.Register & burrow.v1.Register.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Register {
            interface $Properties {
                protocolVersion?: (number|null);
                hostnames?: (string[]|null);
                labels?: ({ [k: string]: string }|null);
                client?: (burrow.v1.ClientInfo.$Properties|null);
                connIndex?: (number|null);
                previousAttempts?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.Register.$Properties;
        }

        interface IClientInfo extends burrow.v1.ClientInfo.$Properties {
        }

        class ClientInfo {
            constructor(p?: burrow.v1.ClientInfo.$Properties);
            $unknowns?: Uint8Array[];
            agentId: string;
            version: string;
            arch: string;
            features: string[];
            static encode(m: burrow.v1.ClientInfo.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.ClientInfo & burrow.v1.ClientInfo.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace ClientInfo {
            interface $Properties {
                agentId?: (string|null);
                version?: (string|null);
                arch?: (string|null);
                features?: (string[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.ClientInfo.$Properties;
        }

        interface IRegisterAccepted extends burrow.v1.RegisterAccepted.$Properties {
        }

        class RegisterAccepted {
            constructor(p?: burrow.v1.RegisterAccepted.$Properties);
            $unknowns?: Uint8Array[];
            connectionId: string;
            edgeId: string;
            hostnames: string[];
            features: string[];
            protocolVersion: number;
            static encode(m: burrow.v1.RegisterAccepted.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.RegisterAccepted & burrow.v1.RegisterAccepted.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace RegisterAccepted {
            interface $Properties {
                connectionId?: (string|null);
                edgeId?: (string|null);
                hostnames?: (string[]|null);
                features?: (string[]|null);
                protocolVersion?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.RegisterAccepted.$Properties;
        }

        interface IRegisterRejected extends burrow.v1.RegisterRejected.$Properties {
        }

        class RegisterRejected {
            constructor(p?: burrow.v1.RegisterRejected.$Properties);
            $unknowns?: Uint8Array[];
            code: string;
            message: string;
            retryAfterMs: number;
            permanent: boolean;
            static encode(m: burrow.v1.RegisterRejected.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.RegisterRejected & burrow.v1.RegisterRejected.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace RegisterRejected {
            interface $Properties {
                code?: (string|null);
                message?: (string|null);
                retryAfterMs?: (number|null);
                permanent?: (boolean|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.RegisterRejected.$Properties;
        }

        interface IHeartbeat extends burrow.v1.Heartbeat.$Properties {
        }

        class Heartbeat {
            constructor(p?: burrow.v1.Heartbeat.$Properties);
            $unknowns?: Uint8Array[];
            seq: (number|Long);
            reply: boolean;
            static encode(m: burrow.v1.Heartbeat.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.Heartbeat & burrow.v1.Heartbeat.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Heartbeat {
            interface $Properties {
                seq?: (number|Long|null);
                reply?: (boolean|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.Heartbeat.$Properties;
        }

        interface IDrain extends burrow.v1.Drain.$Properties {
        }

        class Drain {
            constructor(p?: burrow.v1.Drain.$Properties);
            $unknowns?: Uint8Array[];
            deadlineMs: number;
            reason: string;
            static encode(m: burrow.v1.Drain.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.Drain & burrow.v1.Drain.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Drain {
            interface $Properties {
                deadlineMs?: (number|null);
                reason?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.Drain.$Properties;
        }

        interface IUnregister extends burrow.v1.Unregister.$Properties {
        }

        class Unregister {
            constructor(p?: burrow.v1.Unregister.$Properties);
            $unknowns?: Uint8Array[];
            reason: string;
            static encode(m: burrow.v1.Unregister.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.Unregister & burrow.v1.Unregister.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Unregister {
            interface $Properties {
                reason?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.Unregister.$Properties;
        }

        interface IRouteUpdate extends burrow.v1.RouteUpdate.$Properties {
        }

        class RouteUpdate {
            constructor(p?: burrow.v1.RouteUpdate.$Properties);
            $unknowns?: Uint8Array[];
            addHostnames: string[];
            removeHostnames: string[];
            static encode(m: burrow.v1.RouteUpdate.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.RouteUpdate & burrow.v1.RouteUpdate.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace RouteUpdate {
            interface $Properties {
                addHostnames?: (string[]|null);
                removeHostnames?: (string[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.RouteUpdate.$Properties;
        }

        interface IConfigPush extends burrow.v1.ConfigPush.$Properties {
        }

        class ConfigPush {
            constructor(p?: burrow.v1.ConfigPush.$Properties);
            $unknowns?: Uint8Array[];
            version: (number|Long);
            config: Uint8Array;
            static encode(m: burrow.v1.ConfigPush.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.ConfigPush & burrow.v1.ConfigPush.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace ConfigPush {
            interface $Properties {
                version?: (number|Long|null);
                config?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.ConfigPush.$Properties;
        }

        interface IProtocolError extends burrow.v1.ProtocolError.$Properties {
        }

        class ProtocolError {
            constructor(p?: burrow.v1.ProtocolError.$Properties);
            $unknowns?: Uint8Array[];
            code: string;
            message: string;
            static encode(m: burrow.v1.ProtocolError.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.ProtocolError & burrow.v1.ProtocolError.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace ProtocolError {
            interface $Properties {
                code?: (string|null);
                message?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.ProtocolError.$Properties;
        }

        interface IEnrollRequest extends burrow.v1.EnrollRequest.$Properties {
        }

        class EnrollRequest {
            constructor(p?: burrow.v1.EnrollRequest.$Properties);
            $unknowns?: Uint8Array[];
            token: string;
            csr: Uint8Array;
            client?: (burrow.v1.ClientInfo.$Properties|null);
            static encode(m: burrow.v1.EnrollRequest.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.EnrollRequest & burrow.v1.EnrollRequest.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace EnrollRequest {
            interface $Properties {
                token?: (string|null);
                csr?: (Uint8Array|null);
                client?: (burrow.v1.ClientInfo.$Properties|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.EnrollRequest.$Properties;
        }

        interface IZoneGrant extends burrow.v1.ZoneGrant.$Properties {
        }

        class ZoneGrant {
            constructor(p?: burrow.v1.ZoneGrant.$Properties);
            $unknowns?: Uint8Array[];
            zone: string;
            wildcard: boolean;
            static encode(m: burrow.v1.ZoneGrant.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.ZoneGrant & burrow.v1.ZoneGrant.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace ZoneGrant {
            interface $Properties {
                zone?: (string|null);
                wildcard?: (boolean|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.ZoneGrant.$Properties;
        }

        interface IEnrollResponse extends burrow.v1.EnrollResponse.$Properties {
        }

        class EnrollResponse {
            constructor(p?: burrow.v1.EnrollResponse.$Properties);
            $unknowns?: Uint8Array[];
            certificate: string;
            ca: string;
            account: string;
            zones: burrow.v1.ZoneGrant.$Properties[];
            serial: string;
            notAfterMs: (number|Long);
            static encode(m: burrow.v1.EnrollResponse.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.EnrollResponse & burrow.v1.EnrollResponse.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace EnrollResponse {
            interface $Properties {
                certificate?: (string|null);
                ca?: (string|null);
                account?: (string|null);
                zones?: (burrow.v1.ZoneGrant.$Properties[]|null);
                serial?: (string|null);
                notAfterMs?: (number|Long|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.EnrollResponse.$Properties;
        }

        interface IEnrollRejected extends burrow.v1.EnrollRejected.$Properties {
        }

        class EnrollRejected {
            constructor(p?: burrow.v1.EnrollRejected.$Properties);
            $unknowns?: Uint8Array[];
            code: string;
            message: string;
            static encode(m: burrow.v1.EnrollRejected.$Properties, w?: $protobuf.Writer): $protobuf.Writer;
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): burrow.v1.EnrollRejected & burrow.v1.EnrollRejected.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace EnrollRejected {
            interface $Properties {
                code?: (string|null);
                message?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = burrow.v1.EnrollRejected.$Properties;
        }
    }
}
