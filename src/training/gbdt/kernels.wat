;; The inner loops of a one-thread fit over bins left in place (TreeGrower's indexed layout), as
;; WebAssembly: compiled before their first call instead of interpreted until V8 has seen enough
;; of them, and adding a row's (gradient, hessian) pair to a bin as one 128-bit load, add and
;; store. Every bin is still summed over the rows in their order, each lane an IEEE double
;; addition, so the sums are bit for bit those of addRowsToHist; the partition keeps the rows'
;; order as partitionIndexed does. Addresses are byte offsets into the module's
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
        (br $rows))))

  ;; The larger child's histogram from its parent's (at `large`, `bytes` long): the smaller one's
  ;; pairs taken off, pair by pair.
  (func (export "subtract") (param $large i32) (param $small i32) (param $bytes i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $large) (local.get $bytes)))
    (block $done
      (loop $pairs
        (br_if $done (i32.ge_u (local.get $large) (local.get $end)))
        (v128.store (local.get $large) (f64x2.sub (v128.load (local.get $large)) (v128.load (local.get $small))))
        (local.set $large (i32.add (local.get $large) (i32.const 16)))
        (local.set $small (i32.add (local.get $small) (i32.const 16)))
        (br $pairs))))

  ;; Row indices rows[begin, end) (u32 at rows + 4·i) whose bin (u16 at column + 2·row) has
  ;; direction 0 at right + bin stay in front, in order, those with 1 follow them, in order, by
  ;; way of `scratch`; answers where they start. Without branches: each row is written to both
  ;; sides and only one position advances.
  (func (export "partition")
    (param $rows i32) (param $scratch i32) (param $column i32) (param $right i32) (param $begin i32) (param $end i32)
    (result i32)
    (local $i i32) (local $l i32) (local $r i32) (local $row i32) (local $toRight i32)
    (local.set $i (local.get $begin))
    (local.set $l (local.get $begin))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $row (i32.load (i32.add (local.get $rows) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $toRight (i32.load8_u (i32.add (local.get $right)
          (i32.load16_u (i32.add (local.get $column) (i32.shl (local.get $row) (i32.const 1)))))))
        (i32.store (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2))) (local.get $row))
        (i32.store (i32.add (local.get $scratch) (i32.shl (local.get $r) (i32.const 2))) (local.get $row))
        (local.set $l (i32.add (local.get $l) (i32.xor (local.get $toRight) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (local.get $toRight)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (memory.copy
      (i32.add (local.get $rows) (i32.shl (local.get $l) (i32.const 2)))
      (local.get $scratch)
      (i32.shl (local.get $r) (i32.const 2)))
    (local.get $l)))
