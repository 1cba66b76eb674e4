;; The histogram loops of a one-thread fit over bins left in place (TreeGrower's indexed layout),
;; as WebAssembly: compiled before its first call instead of interpreted until V8 has seen enough
;; of it, and adding a row's (gradient, hessian) pair to a bin as one 128-bit load, add and store.
;; Every bin is still summed over the rows in their order, each lane an IEEE double addition, so
;; the sums are bit for bit those of addRowsToHist. Addresses are byte offsets into the module's
;; memory, which the fit lays out (kernels.ts); `npm run wasm` assembles this file into
;; kernels-wasm.ts.
(module
  (memory (export "memory") 1)

  ;; Rows [begin, end) in order: row i's bins (u16) from bins + 2·(i·stride + first), its pair at
  ;; gh + 16·i; features [first, first + nf) added to the pairs at hist + 16·bin.
  (func (export "histRows")
    (param $hist i32) (param $bins i32) (param $stride i32) (param $gh i32)
    (param $begin i32) (param $end i32) (param $first i32) (param $nf i32)
    (local $i i32) (local $p i32) (local $last i32) (local $at i32) (local $pair v128)
    (local.set $i (local.get $begin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $pair (v128.load (i32.add (local.get $gh) (i32.shl (local.get $i) (i32.const 4)))))
        (local.set $p (i32.add (local.get $bins)
          (i32.shl (i32.add (i32.mul (local.get $i) (local.get $stride)) (local.get $first)) (i32.const 1))))
        (local.set $last (i32.add (local.get $p) (i32.shl (local.get $nf) (i32.const 1))))
        (block $featuresDone
          (loop $features
            (br_if $featuresDone (i32.ge_u (local.get $p) (local.get $last)))
            (local.set $at (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $p)) (i32.const 4))))
            (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $pair)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $features)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; histRows for the rows whose indices are rows[begin, end) (u32 at rows + 4·i): row r's bins
  ;; from bins + 2·(r·stride + first), its pair at gh + 16·r.
  (func (export "histIndexed")
    (param $hist i32) (param $bins i32) (param $stride i32) (param $gh i32) (param $rows i32)
    (param $begin i32) (param $end i32) (param $first i32) (param $nf i32)
    (local $i i32) (local $r i32) (local $p i32) (local $last i32) (local $at i32) (local $pair v128)
    (local.set $i (local.get $begin))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $r (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $pair (v128.load (i32.add (local.get $gh) (i32.shl (local.get $r) (i32.const 4)))))
        (local.set $p (i32.add (local.get $bins)
          (i32.shl (i32.add (i32.mul (local.get $r) (local.get $stride)) (local.get $first)) (i32.const 1))))
        (local.set $last (i32.add (local.get $p) (i32.shl (local.get $nf) (i32.const 1))))
        (block $featuresDone
          (loop $features
            (br_if $featuresDone (i32.ge_u (local.get $p) (local.get $last)))
            (local.set $at (i32.add (local.get $hist) (i32.shl (i32.load16_u (local.get $p)) (i32.const 4))))
            (v128.store (local.get $at) (f64x2.add (v128.load (local.get $at)) (local.get $pair)))
            (local.set $p (i32.add (local.get $p) (i32.const 2)))
            (br $features)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))))
