// Gate math of one recurrent step for a block of rows (tanh RNN, LSTM, GRU), forward and backward,
// with PyTorch's equations and gate order. The GEMMs live in Recurrent.swift; these kernels are the
// element-wise part, vectorised over the hidden dimension (FV lanes: 16 in the v4 kernel set, else
// 8; a scalar tail for the rest of H).
//
// Glossary: H hidden, G gates (1 rnn, 4 lstm, 3 gru), rows = sequences active at this step.
// Per row r (all buffers row-major, row strides given):
//   act    [rows, G*H]  in: x W_ih^T (no bias); out: gate activations (rnn: h; lstm: i f g o; gru: r z n)
//   gh     [rows, G*H]  h_prev W_hh^T (no bias)
//   hprev  [rows, H]    previous hidden state (GRU forward, every backward)
//   cprev  [rows, H]    previous cell state (LSTM)
//   aux    [rows, H]    LSTM: tanh(c_t); GRU: W_hn h_prev + b_hn (saved for backward)
//   out    [rows, ldo]  h_t (the layer output, this direction's columns)
//   next*  where h_t / c_t go for the next step: rows < split -> nextH/nextC, others -> finalH/finalC
// Forward kernels handle the hidden units 0..<width of each row (width = H, or a share of H when
// the caller has shifted every pointer to its first unit: one step split over two threads).
// Inference (no aux buffer) does not store the LSTM/GRU gate activations back into act.
//
// The per-unit bodies are file-level @inline(always) functions called with a literal `tail`, so
// vector loop compiles without branches or calls (a nested closure-like `body` was not
// inlined and cost ~2x).
//
// Equations (sigma = logistic):
//   rnn : h = tanh(a),  a = x W_ih^T + b_ih + h W_hh^T + b_hh
//   lstm: i,f,o = sigma(a_i,a_f,a_o), g = tanh(a_g), c = f*c_prev + i*g, h = o*tanh(c)
//   gru : r,z = sigma(a_r,a_z), hn = W_hn h + b_hn, n = tanh(x W_in^T + b_in + r*hn), h = (1-z)*n + z*h_prev

import RNNKernelABI

@inline(always) private func ld(_ p: FPtr, _ tail: Bool) -> FV { tail ? FV(repeating: p.pointee) : loadV(p) }
@inline(always) private func st(_ v: FV, _ p: FPtr, _ tail: Bool) { if tail { p.pointee = v[0] } else { storeV(v, p) } }
/// Units per vector step (FastMath.swift: 16 in the v4 kernel set, else 8).
@inline(always) private var lanes: Int { FV.scalarCount }

// MARK: forward

@inline(always)
private func rnnForwardUnit(_ j: Int, _ tail: Bool, a: FPtr, g: FPtr, bih: FPtr, bhh: FPtr, o: FPtr, nh: FPtr) {
    let h = tanhV(ld(a + j, tail) + ld(bih + j, tail) + ld(g + j, tail) + ld(bhh + j, tail))
    st(h, a + j, tail); st(h, o + j, tail); st(h, nh + j, tail)
}

func rnnForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, to: StepTargets, width: Int) {
    for r in 0 ..< rows {
        let a = act + r * H, g = gh + r * H
        let o = to.out + r * to.ldo
        let nh = r < to.split ? to.nextH + r * H : to.finalH + r * H
        var j = 0
        while j + lanes <= width { rnnForwardUnit(j, false, a: a, g: g, bih: bih, bhh: bhh, o: o, nh: nh); j += lanes }
        while j < width { rnnForwardUnit(j, true, a: a, g: g, bih: bih, bhh: bhh, o: o, nh: nh); j += 1 }
    }
}

@inline(always)
private func lstmForwardUnit(_ j: Int, _ tail: Bool, H: Int, a: FPtr, g: FPtr, bih: FPtr, bhh: FPtr, cp: FPtr, tc: FPtr?,
                             o: FPtr, nh: FPtr, nc: FPtr) {
    let ai = ld(a + j, tail) + ld(bih + j, tail) + ld(g + j, tail) + ld(bhh + j, tail)
    let af = ld(a + H + j, tail) + ld(bih + H + j, tail) + ld(g + H + j, tail) + ld(bhh + H + j, tail)
    let ag = ld(a + 2 * H + j, tail) + ld(bih + 2 * H + j, tail) + ld(g + 2 * H + j, tail) + ld(bhh + 2 * H + j, tail)
    let ao = ld(a + 3 * H + j, tail) + ld(bih + 3 * H + j, tail) + ld(g + 3 * H + j, tail) + ld(bhh + 3 * H + j, tail)
    let i = sigmoidV(ai), f = sigmoidV(af), gg = tanhV(ag), og = sigmoidV(ao)
    let c = (f * ld(cp + j, tail)).addingProduct(i, gg)
    let t = tanhV(c)
    let h = og * t
    if let tc {
        st(i, a + j, tail); st(f, a + H + j, tail); st(gg, a + 2 * H + j, tail); st(og, a + 3 * H + j, tail)
        st(t, tc + j, tail)
    }
    st(h, o + j, tail); st(h, nh + j, tail); st(c, nc + j, tail)
}

func lstmForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, cprev: FPtr, tanhC: FPtr?, to: StepTargets, width: Int) {
    let G = 4 * H
    for r in 0 ..< rows {
        let a = act + r * G, g = gh + r * G, cp = cprev + r * H
        let o = to.out + r * to.ldo
        let cont = r < to.split
        let nh = cont ? to.nextH + r * H : to.finalH + r * H
        let nc = cont ? to.nextC! + r * H : to.finalC! + r * H
        var j = 0
        if let tanhC {
            let tc = tanhC + r * H
            while j + lanes <= width { lstmForwardUnit(j, false, H: H, a: a, g: g, bih: bih, bhh: bhh, cp: cp, tc: tc, o: o, nh: nh, nc: nc); j += lanes }
            while j < width { lstmForwardUnit(j, true, H: H, a: a, g: g, bih: bih, bhh: bhh, cp: cp, tc: tc, o: o, nh: nh, nc: nc); j += 1 }
        } else {
            while j + lanes <= width { lstmForwardUnit(j, false, H: H, a: a, g: g, bih: bih, bhh: bhh, cp: cp, tc: nil, o: o, nh: nh, nc: nc); j += lanes }
            while j < width { lstmForwardUnit(j, true, H: H, a: a, g: g, bih: bih, bhh: bhh, cp: cp, tc: nil, o: o, nh: nh, nc: nc); j += 1 }
        }
    }
}

@inline(always)
private func gruForwardUnit(_ j: Int, _ tail: Bool, H: Int, a: FPtr, g: FPtr, bih: FPtr, bhh: FPtr, hp: FPtr, hs: FPtr?,
                            o: FPtr, nh: FPtr) {
    let rr = sigmoidV(ld(a + j, tail) + ld(bih + j, tail) + ld(g + j, tail) + ld(bhh + j, tail))
    let z = sigmoidV(ld(a + H + j, tail) + ld(bih + H + j, tail) + ld(g + H + j, tail) + ld(bhh + H + j, tail))
    let hn = ld(g + 2 * H + j, tail) + ld(bhh + 2 * H + j, tail)
    let n = tanhV((ld(a + 2 * H + j, tail) + ld(bih + 2 * H + j, tail)).addingProduct(rr, hn))
    let h = n.addingProduct(z, ld(hp + j, tail) - n)
    if let hs {
        st(rr, a + j, tail); st(z, a + H + j, tail); st(n, a + 2 * H + j, tail)
        st(hn, hs + j, tail)
    }
    st(h, o + j, tail); st(h, nh + j, tail)
}

func gruForwardRows(rows: Int, H: Int, act: FPtr, gh: FPtr, bih: FPtr, bhh: FPtr, hprev: FPtr, hnOut: FPtr?, to: StepTargets, width: Int) {
    let G = 3 * H
    for r in 0 ..< rows {
        let a = act + r * G, g = gh + r * G, hp = hprev + r * H
        let o = to.out + r * to.ldo
        let nh = r < to.split ? to.nextH + r * H : to.finalH + r * H
        var j = 0
        if let hnOut {
            let hs = hnOut + r * H
            while j + lanes <= width { gruForwardUnit(j, false, H: H, a: a, g: g, bih: bih, bhh: bhh, hp: hp, hs: hs, o: o, nh: nh); j += lanes }
            while j < width { gruForwardUnit(j, true, H: H, a: a, g: g, bih: bih, bhh: bhh, hp: hp, hs: hs, o: o, nh: nh); j += 1 }
        } else {
            while j + lanes <= width { gruForwardUnit(j, false, H: H, a: a, g: g, bih: bih, bhh: bhh, hp: hp, hs: nil, o: o, nh: nh); j += lanes }
            while j < width { gruForwardUnit(j, true, H: H, a: a, g: g, bih: bih, bhh: bhh, hp: hp, hs: nil, o: o, nh: nh); j += 1 }
        }
    }
}

// MARK: backward
// dh = carryH + dOut (the gradient reaching h_t). Writes the gate pre-activation gradients dG
// (input side) and dGh (hidden side; differs from dG only for GRU's n gate), and for LSTM
// carryC <- dc_{t-1}; for GRU carryH <- dh * z (the direct path; the GEMM adds dGh W_hh).

@inline(always)
private func rnnBackwardUnit(_ j: Int, _ tail: Bool, a: FPtr, dO: FPtr?, ch: FPtr, g: FPtr) {
    var dh = ld(ch + j, tail)
    if let dO { dh += ld(dO + j, tail) }
    let h = ld(a + j, tail)
    st(dh * (1 - h * h), g + j, tail)
}

func rnnBackwardRows(rows: Int, H: Int, act: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr, dG: FPtr) {
    for r in 0 ..< rows {
        let a = act + r * H, ch = carryH + r * H, g = dG + r * H
        let dO = dOut.map { $0 + r * ldd }
        var j = 0
        while j + lanes <= H { rnnBackwardUnit(j, false, a: a, dO: dO, ch: ch, g: g); j += lanes }
        while j < H { rnnBackwardUnit(j, true, a: a, dO: dO, ch: ch, g: g); j += 1 }
    }
}

@inline(always)
private func lstmBackwardUnit(_ j: Int, _ tail: Bool, H: Int, a: FPtr, g: FPtr, tcp: FPtr, cp: FPtr, ch: FPtr, cc: FPtr, dO: FPtr?) {
    var dh = ld(ch + j, tail)
    if let dO { dh += ld(dO + j, tail) }
    let i = ld(a + j, tail), f = ld(a + H + j, tail), gg = ld(a + 2 * H + j, tail), o = ld(a + 3 * H + j, tail)
    let tc = ld(tcp + j, tail)
    let dc = ld(cc + j, tail).addingProduct(dh * o, 1 - tc * tc)
    let dO_ = dh * tc
    let di = dc * gg, dg = dc * i, df = dc * ld(cp + j, tail)
    st(dc * f, cc + j, tail)
    st(di * i * (1 - i), g + j, tail)
    st(df * f * (1 - f), g + H + j, tail)
    st(dg * (1 - gg * gg), g + 2 * H + j, tail)
    st(dO_ * o * (1 - o), g + 3 * H + j, tail)
}

func lstmBackwardRows(rows: Int, H: Int, act: FPtr, tanhC: FPtr, cprev: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr, carryC: FPtr, dG: FPtr) {
    let G = 4 * H
    for r in 0 ..< rows {
        let a = act + r * G, g = dG + r * G, tcp = tanhC + r * H, cp = cprev + r * H
        let ch = carryH + r * H, cc = carryC + r * H
        let dO = dOut.map { $0 + r * ldd }
        var j = 0
        while j + lanes <= H { lstmBackwardUnit(j, false, H: H, a: a, g: g, tcp: tcp, cp: cp, ch: ch, cc: cc, dO: dO); j += lanes }
        while j < H { lstmBackwardUnit(j, true, H: H, a: a, g: g, tcp: tcp, cp: cp, ch: ch, cc: cc, dO: dO); j += 1 }
    }
}

@inline(always)
private func gruBackwardUnit(_ j: Int, _ tail: Bool, H: Int, a: FPtr, g: FPtr, gh: FPtr, hs: FPtr, hp: FPtr, ch: FPtr, dO: FPtr?) {
    var dh = ld(ch + j, tail)
    if let dO { dh += ld(dO + j, tail) }
    let rr = ld(a + j, tail), z = ld(a + H + j, tail), n = ld(a + 2 * H + j, tail)
    let dn = dh * (1 - z)
    let dz = dh * (ld(hp + j, tail) - n)
    st(dh * z, ch + j, tail)
    let dan = dn * (1 - n * n)
    let dar = dan * ld(hs + j, tail) * rr * (1 - rr)
    let daz = dz * z * (1 - z)
    st(dar, g + j, tail); st(daz, g + H + j, tail); st(dan, g + 2 * H + j, tail)
    st(dar, gh + j, tail); st(daz, gh + H + j, tail); st(dan * rr, gh + 2 * H + j, tail)
}

func gruBackwardRows(rows: Int, H: Int, act: FPtr, hnSaved: FPtr, hprev: FPtr, dOut: FPtr?, ldd: Int, carryH: FPtr, dG: FPtr, dGh: FPtr) {
    let G = 3 * H
    for r in 0 ..< rows {
        let a = act + r * G, g = dG + r * G, gh = dGh + r * G
        let hs = hnSaved + r * H, hp = hprev + r * H, ch = carryH + r * H
        let dO = dOut.map { $0 + r * ldd }
        var j = 0
        while j + lanes <= H { gruBackwardUnit(j, false, H: H, a: a, g: g, gh: gh, hs: hs, hp: hp, ch: ch, dO: dO); j += lanes }
        while j < H { gruBackwardUnit(j, true, H: H, a: a, g: g, gh: gh, hs: hs, hp: hp, ch: ch, dO: dO); j += 1 }
    }
}
