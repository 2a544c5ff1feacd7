import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { addressProblem, classifyAddress, ipv6Bytes, isMetadataHost } from "../../src/kernel/addresses";
import { checkTarget, outbound, type Resolver, resolveAllowed } from "../../src/kernel/outbound";

describe("address classification (SSRF rules)", () => {
  it.each([
    ["8.8.8.8", "public"],
    ["1.1.1.1", "public"],
    ["93.184.216.34", "public"],
    ["172.15.255.255", "public"],
    ["172.32.0.1", "public"],
    ["100.63.255.255", "public"],
    ["100.128.0.0", "public"],
    ["192.169.0.1", "public"],
    ["223.255.255.255", "public"],
    ["2606:4700:4700::1111", "public"],
    ["2001:4860:4860::8888", "public"],
    ["::ffff:8.8.8.8", "public"],
    ["64:ff9b::808:808", "public"],
    ["2002:808:808::1", "public"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["::1", "loopback"],
    ["::ffff:127.0.0.1", "loopback"],
  ])("%s is %s", (ip, kind) => {
    expect(classifyAddress(ip).kind).toBe(kind);
  });

  it.each([
    ["10.0.0.1", /private \(RFC 1918\)/],
    ["10.255.255.255", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.254", /private/],
    ["192.168.1.1", /private/],
    ["100.64.0.1", /CGNAT/],
    ["100.127.255.255", /CGNAT/],
    ["169.254.169.254", /cloud metadata service/],
    ["169.254.0.1", /link-local/],
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["240.0.0.1", /reserved/],
    ["255.255.255.255", /reserved/],
    ["192.0.2.10", /documentation/],
    ["198.51.100.7", /documentation/],
    ["203.0.113.200", /documentation/],
    ["198.18.0.1", /benchmarking/],
    ["192.0.0.8", /IETF/],
    ["::", /unspecified/],
    ["fc00::1", /unique local/],
    ["fd12:3456:789a::1", /unique local/],
    ["fd00:ec2::254", /unique local/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["febf:ffff::1", /link-local/],
    ["fec0::1", /site-local/],
    ["ff02::1", /multicast/],
    ["2001:db8::1", /documentation/],
    ["2001::1", /Teredo/],
    ["100::1", /discard/],
    ["64:ff9b:1::1", /local-use NAT64/],
    // IPv6 forms carrying a private IPv4 address are judged by it.
    ["::ffff:10.0.0.1", /private \(RFC 1918\)/],
    ["::ffff:a00:1", /private/],
    ["::ffff:169.254.169.254", /metadata/],
    ["::ffff:192.168.0.1", /private/],
    ["64:ff9b::10.1.2.3", /private/],
    ["64:ff9b::a9fe:a9fe", /metadata/],
    ["2002:a00:1::", /private/],
    ["2002:c0a8:101::1", /private/],
    ["::10.0.0.1", /IPv4-compatible/],
    ["4000::1", /not global unicast/],
    ["not-an-ip", /not an IP address/],
  ])("%s is refused (%s)", (ip, reason) => {
    const verdict = classifyAddress(ip);
    expect(verdict.kind).toBe("blocked");
    expect(verdict.kind === "blocked" && verdict.reason).toMatch(reason);
    expect(addressProblem(ip, { allowLoopback: true })).toMatch(reason);
  });

  it("allows loopback only when told to (the emulators)", () => {
    expect(addressProblem("127.0.0.1", { allowLoopback: true })).toBeNull();
    expect(addressProblem("127.0.0.1", { allowLoopback: false })).toBe("127.0.0.1 is a loopback address");
    expect(addressProblem("::ffff:127.0.0.1", { allowLoopback: false })).toMatch(/loopback/);
    expect(addressProblem("8.8.8.8", { allowLoopback: false })).toBeNull();
  });

  it("parses every IPv6 notation into 16 bytes", () => {
    expect(ipv6Bytes("::1")).toEqual([...Array(15).fill(0), 1]);
    expect(ipv6Bytes("[::ffff:1.2.3.4]")).toEqual([...Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]);
    expect(ipv6Bytes("2001:db8:0:0:0:0:2:1")).toEqual(ipv6Bytes("2001:db8::2:1"));
    expect(ipv6Bytes("FE80::1%25eth0")!.slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(ipv6Bytes("1.2.3.4")).toBeNull();
    expect(ipv6Bytes("::g")).toBeNull();
  });

  it("knows the metadata service's host names", () => {
    expect(isMetadataHost("metadata.google.internal")).toBe(true);
    expect(isMetadataHost("METADATA.google.internal.")).toBe(true);
    expect(isMetadataHost("metadata")).toBe(true);
    expect(isMetadataHost("metadata.example.com")).toBe(false);
  });
});

describe("outbound target checks: resolved addresses, no second lookup", () => {
  let server: Server;
  let port: number;
  beforeAll(async () => {
    server = createServer((_req, res) => res.end('{"ok":true}'));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const resolverTo = (...addresses: string[]): Resolver & { calls: string[] } => {
    const calls: string[] = [];
    const resolver = async (hostname: string) => {
      calls.push(hostname);
      return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    };
    return Object.assign(resolver, { calls });
  };

  it("refuses a host name if any of its addresses is not allowed", async () => {
    await expect(resolveAllowed("ok.example", resolverTo("93.184.216.34"), false)).resolves.toEqual([{ address: "93.184.216.34", family: 4 }]);
    await expect(resolveAllowed("mixed.example", resolverTo("93.184.216.34", "10.0.0.7"), false)).rejects.toThrow(
      "mixed.example resolves to a forbidden address: 10.0.0.7 is private (RFC 1918)",
    );
    await expect(resolveAllowed("v6.example", resolverTo("2606:4700::1", "fd00::5"), false)).rejects.toThrow(/unique local/);
    await expect(resolveAllowed("local.example", resolverTo("127.0.0.1"), false)).rejects.toThrow(/loopback/);
    await expect(resolveAllowed("local.example", resolverTo("127.0.0.1"), true)).resolves.toHaveLength(1);
    const never = resolverTo("93.184.216.34");
    await expect(resolveAllowed("metadata.google.internal", never, false)).rejects.toThrow(/metadata/);
    expect(never.calls).toEqual([]);
  });

  it("connects to the address that was checked (a name only our resolver knows reaches the server)", async () => {
    // The test runs on the emulators, where loopback is allowed: the one address resolved is the one used.
    const pinned = resolverTo("127.0.0.1");
    const res = await outbound({ url: `http://localhost:${port}/`, resolver: pinned });
    expect(res.json()).toEqual({ ok: true });
    expect(pinned.calls).toEqual(["localhost"]);
  });

  it("refuses a name that resolves to a private address before connecting", async () => {
    const rebinding = resolverTo("10.1.2.3");
    await expect(outbound({ url: `https://rebind.example:${port}/`, resolver: rebinding })).rejects.toMatchObject({
      kind: "url_rejected",
      message: expect.stringMatching(/rebind\.example resolves to a forbidden address: 10\.1\.2\.3 is private/),
    });
    await expect(outbound({ url: "https://metadata.google.internal/computeMetadata/v1/" })).rejects.toMatchObject({ kind: "url_rejected" });
  });

  it("checks IP literals without any lookup, whatever their notation", async () => {
    for (const url of [
      "https://10.0.0.1/",
      "https://[::ffff:10.0.0.1]/",
      "https://[::ffff:a00:1]/",
      "https://169.254.169.254/",
      "https://0x0a.0.0.1/",
      "https://167772161/",
      "https://[fe80::1]/",
    ]) {
      await expect(checkTarget(url)).rejects.toMatchObject({ kind: "url_rejected" });
    }
    await expect(checkTarget("https://8.8.8.8/")).resolves.toBeInstanceOf(URL);
    await expect(checkTarget("https://[2606:4700:4700::1111]/")).resolves.toBeInstanceOf(URL);
  });
});
